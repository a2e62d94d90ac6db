"""Whether a stream's personal data was erased after a version: one indexed query.

What a process keeps in memory about a shipment's past (the states it wrote, the
changes it read) was true when kept, and stays true — except that an erasure,
perhaps made by another process, takes the personal values out of every earlier
version. So before any such memory is shown, this asks the store whether an
erasure came after the version it starts from (a range of the stream's own
primary key, no event decoded).
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Identifier

from domain.shipment import Shipment
from infrastructure.recorders import PostgresShipmentRecorder, SQLiteShipmentRecorder

_ERASED_TOPIC = get_topic(Shipment.PersonalDataErased)


class ErasureMarks:
    """Asks the events table for ``PersonalDataErased`` events of one stream."""

    def __init__(self, recorder: PostgresShipmentRecorder | SQLiteShipmentRecorder) -> None:
        self._recorder = recorder
        if isinstance(recorder, PostgresShipmentRecorder):
            self._postgres = SQL(
                "SELECT EXISTS (SELECT 1 FROM {}.{} WHERE originator_id = %s "
                "AND originator_version > %s AND topic = %s)"
            ).format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
        self._sqlite = (
            f"SELECT EXISTS (SELECT 1 FROM {recorder.events_table_name} WHERE originator_id = ? "
            "AND originator_version > ? AND topic = ?)"
        )

    def erased_after(self, shipment_id: UUID, version: int) -> bool:
        """Whether the shipment's personal data was erased by an event after ``version``."""
        recorder = self._recorder
        if isinstance(recorder, PostgresShipmentRecorder):
            with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
                curs.execute(self._postgres, (shipment_id, version, _ERASED_TOPIC), prepare=True)
                row = curs.fetchone()
            return bool(row is not None and row["exists"])
        with recorder.datastore.transaction(commit=False) as c:
            c.execute(self._sqlite, (shipment_id.hex, version, _ERASED_TOPIC))
            found = c.fetchone()
        return bool(found is not None and found[0])
