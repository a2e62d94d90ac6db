"""Bringing streams written before personal data was sealed under keys: ``encrypt-personal-data``.

An event stored before sealing existed holds its personal values in plaintext, and
destroying a key cannot forget them. This re-stores each such event (and snapshot)
in place, its personal values sealed under the shipment's key (made if it has
none), exactly as the write path would have stored it: same stream, same position,
same log position, so no version, ETag or feed position moves, and every reader
decodes the same values before and after.

One shipment per transaction, holding what a write holds (the view row's lock on
PostgreSQL, the write lock on SQLite): a write or an erasure of that shipment
waits, so none can slip between the re-sealing and the key it uses. Streams
already sealed are only read, so a run stopped half-way is resumed by running it
again; it is safe while servers are serving.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from psycopg.sql import SQL, Identifier

from infrastructure.append_sessions import AppendSession
from infrastructure.co_commit import WriteModel
from infrastructure.event_store import ShipmentStore
from infrastructure.personal_data_keys import StreamKey
from infrastructure.personal_data_sealing import SEALED


@dataclass(frozen=True)
class SealedStream:
    """What sealing one stream did."""

    shipment_id: UUID
    events: int  # events re-stored sealed
    snapshots: int  # snapshots re-stored sealed


class LegacySealing:
    """Seals the plaintext personal values of old streams in place, one shipment at a time."""

    def __init__(self, store: ShipmentStore, session: AppendSession, model: WriteModel) -> None:
        self._store = store
        self._session = session
        self._model = model
        events = store.recorder
        snapshots = store.snapshots.recorder if store.snapshots is not None else None
        self._tables = [t for t in (events, snapshots) if t is not None]
        self._postgres = store.dialect == "postgres"

    def shipment_ids(self) -> Iterator[UUID]:
        """Every stream's id, in id order (a resumed run meets them in the same order)."""
        table = self._store.recorder.events_table_name  # type: ignore[attr-defined]
        if self._postgres:
            datastore = self._store.recorder.datastore  # type: ignore[attr-defined]
            sql = SQL("SELECT DISTINCT originator_id FROM {}.{} ORDER BY 1").format(
                Identifier(datastore.schema), Identifier(table)
            )
            with datastore.get_connection() as conn, conn.cursor() as curs:
                curs.execute(sql)
                ids = [row["originator_id"] for row in curs.fetchall()]
        else:
            with self._store.recorder.datastore.transaction(commit=False) as c:  # type: ignore[attr-defined]
                c.execute(f"SELECT DISTINCT originator_id FROM {table} ORDER BY 1")
                ids = [UUID(row[0]) for row in c.fetchall()]
        yield from ids

    def seal_stream(self, shipment_id: UUID) -> SealedStream:
        """Re-store the stream's unsealed events and snapshots holding personal data, sealed."""
        mapper = self._store.mapper
        counts = [0, 0]
        with self._session.transaction() as cursor:
            self._model.read_current(cursor, [shipment_id])  # the row lock a write takes
            keys = mapper.keys.current_in(cursor, [shipment_id]).get(shipment_id, [])
            key: StreamKey | None = keys[0] if keys else None
            for index, recorder in enumerate(self._tables):
                for stored in self._unsealed(cursor, recorder, shipment_id):
                    event = mapper.to_domain_events([stored])[0]
                    if not mapper.needs_key(event):
                        continue
                    if key is None:
                        key, statement = mapper.keys.new_key(shipment_id)
                        cursor.execute(statement.sql, statement.params)
                    sealed = mapper.seal(event, key)
                    self._replace(cursor, recorder, sealed)
                    counts[index] += 1
        return SealedStream(shipment_id, counts[0], counts[1])

    def _unsealed(self, cursor: Any, recorder: Any, shipment_id: UUID) -> list[StoredEvent]:
        """The stream's stored rows in ``recorder``'s table whose state seals nothing yet."""
        table = recorder.events_table_name
        if self._postgres:
            cursor.execute(
                SQL(
                    "SELECT originator_version, topic, state FROM {}.{} "
                    "WHERE originator_id = %s ORDER BY originator_version"
                ).format(Identifier(recorder.datastore.schema), Identifier(table)),
                (shipment_id,),
            )
        else:
            cursor.execute(
                f"SELECT originator_version, topic, state FROM {table} "
                "WHERE originator_id = ? ORDER BY originator_version",
                (shipment_id.hex,),
            )
        marker = f'"{SEALED}"'.encode()
        return [
            StoredEvent(
                shipment_id, int(row["originator_version"]), row["topic"], bytes(row["state"])
            )
            for row in cursor.fetchall()
            if marker not in bytes(row["state"])
        ]

    def _replace(self, cursor: Any, recorder: Any, stored: StoredEvent) -> None:
        table = recorder.events_table_name
        if self._postgres:
            cursor.execute(
                SQL(
                    "UPDATE {}.{} SET state = %s "
                    "WHERE originator_id = %s AND originator_version = %s"
                ).format(Identifier(recorder.datastore.schema), Identifier(table)),
                (stored.state, stored.originator_id, stored.originator_version),
            )
        else:
            cursor.execute(
                f"UPDATE {table} SET state = ? WHERE originator_id = ? AND originator_version = ?",
                (stored.state, UUID(str(stored.originator_id)).hex, stored.originator_version),
            )
