"""The ledger of Idempotency-Keys: which write a key produced, so a retry gets its answer.

A record is written by the same transaction that appends the write's event
(a ``co_commit.Statement`` of the group committer's batch), so a key is on
record exactly when its write is durable.
Only (shipment, version, status) is kept: the body is the state at that version,
which the stream reproduces exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg.sql import SQL, Identifier

from infrastructure.co_commit import Statement
from infrastructure.recorders import IDEMPOTENCY_TABLE


@dataclass(frozen=True)
class IdempotencyClaim:
    """A write's key, the fingerprint of its request and the status it will answer."""

    principal: str
    key: str
    fingerprint: str
    status_code: int

    @property
    def ledger_key(self) -> tuple[str, str]:
        """Keys are per caller: two callers may use the same key independently."""
        return (self.principal, self.key)


@dataclass(frozen=True)
class IdempotencyRecord:
    """What an earlier write with this key produced."""

    fingerprint: str
    shipment_id: UUID
    version: int
    status_code: int


class IdempotencyLedger:
    """Reads and records Idempotency-Keys in the store the events live in."""

    def __init__(self, datastore: SQLiteDatastore | PostgresDatastore, ttl: timedelta) -> None:
        self._datastore = datastore
        self._ttl = ttl
        if isinstance(datastore, PostgresDatastore):
            table = SQL("{}.{}").format(Identifier(datastore.schema), Identifier(IDEMPOTENCY_TABLE))
            self._select: Any = SQL(
                "SELECT fingerprint, shipment_id, version, status_code, created_at FROM {} "
                "WHERE principal = %s AND idempotency_key = %s"
            ).format(table)
            self._delete: Any = SQL(
                "DELETE FROM {} WHERE principal = %s AND idempotency_key = %s AND created_at <= %s"
            ).format(table)
            self._insert: Any = SQL(
                "INSERT INTO {} (principal, idempotency_key, fingerprint, shipment_id, "
                "version, status_code, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
            ).format(table)
        else:
            self._select = (
                "SELECT fingerprint, shipment_id, version, status_code, created_at "
                f"FROM {IDEMPOTENCY_TABLE} WHERE principal = ? AND idempotency_key = ?"
            )
            self._delete = (
                f"DELETE FROM {IDEMPOTENCY_TABLE} "
                "WHERE principal = ? AND idempotency_key = ? AND created_at <= ?"
            )
            self._insert = (
                f"INSERT INTO {IDEMPOTENCY_TABLE} (principal, idempotency_key, fingerprint, "
                "shipment_id, version, status_code, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
            )

    def recall_in(
        self, cursor: Any, keys: Sequence[tuple[str, str]]
    ) -> tuple[dict[tuple[str, str], IdempotencyRecord], list[Statement]]:
        """The live records of ``keys`` read in the caller's (append) transaction.

        Also the statements that delete the expired records among them, to run in
        that transaction before any new record of the same key is inserted. The
        caller holds each key's lock (``AppendSession.lock_keys``), so no
        concurrent request can record one of these keys before it commits.
        """
        records: dict[tuple[str, str], IdempotencyRecord] = {}
        expired: list[Statement] = []
        horizon = self._horizon()
        for principal, key in keys:
            cursor.execute(self._select, (principal, key))
            row = cursor.fetchone()
            if row is None:
                continue
            created_at = row["created_at"]
            if isinstance(created_at, str):
                created_at = datetime.fromisoformat(created_at)
            if created_at <= horizon:
                parameter = (
                    horizon.isoformat() if isinstance(self._datastore, SQLiteDatastore) else horizon
                )
                expired.append(Statement(self._delete, (principal, key, parameter)))
                continue
            records[(principal, key)] = IdempotencyRecord(
                fingerprint=row["fingerprint"],
                shipment_id=UUID(str(row["shipment_id"])),
                version=int(row["version"]),
                status_code=int(row["status_code"]),
            )
        return records, expired

    def record(self, claim: IdempotencyClaim, shipment_id: UUID, version: int) -> Statement:
        """The statement that records ``claim`` with the write it made.

        Run in the append transaction that holds the key's lock and read the
        key's record (``recall_in``), so no live record of it can exist.
        """
        now = datetime.now(UTC)
        if isinstance(self._datastore, PostgresDatastore):
            return Statement(
                self._insert,
                (
                    claim.principal,
                    claim.key,
                    claim.fingerprint,
                    shipment_id,
                    version,
                    claim.status_code,
                    now,
                ),
            )
        return Statement(
            self._insert,
            (
                claim.principal,
                claim.key,
                claim.fingerprint,
                shipment_id.hex,
                version,
                claim.status_code,
                now.isoformat(),
            ),
        )

    def _horizon(self) -> datetime:
        return datetime.now(UTC) - self._ttl
