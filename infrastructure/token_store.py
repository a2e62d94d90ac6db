"""API bearer tokens, kept only as SHA-256 hashes: in the database or in a file.

A token is shown once, when it is made; afterwards nothing can recover it, so a
leaked database or tokens file lets no one in. Each token has a unique name
(the subject recorded as the ``actor`` of the events it causes) and a role.
Roles are plain strings here: what they allow is the API's business.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eventsourcing.persistence import IntegrityError
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg.sql import SQL, Identifier

from infrastructure.errors import store_errors

TOKENS_TABLE = "api_tokens"
TOKEN_PREFIX = "shp_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:\-]{0,63}$")


class TokenNameTaken(ValueError):
    """A token with this name exists; revoke it first (names are subjects, so unique)."""


class InvalidTokenName(ValueError):
    """The name cannot be a subject: 1 to 64 letters, digits, and ``. _ @ : -``."""


@dataclass(frozen=True)
class TokenRecord:
    """What is kept of a token: never the token itself, only its hash."""

    name: str
    role: str
    token_hash: str
    created_at: datetime


def new_token() -> str:
    """A fresh random token (256 bits), recognisable by its prefix in secret scanners."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The SHA-256 of a token, hex: what is stored and what presented tokens are compared by.

    A plain hash suffices because tokens are long random strings, not passwords.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_name(name: str) -> str:
    """The name, if it can be a subject; otherwise ``InvalidTokenName``."""
    if not _NAME.match(name):
        raise InvalidTokenName(
            f"invalid token name {name!r}: use 1 to 64 letters, digits, '.', '_', '@', ':' or '-'"
        )
    return name


class TokenStore(ABC):
    """Adds, lists and revokes tokens; only hashes are ever written."""

    def add(self, name: str, role: str) -> str:
        """Make a token for ``name`` and return it: the only time it is ever seen."""
        token = new_token()
        record = TokenRecord(check_name(name), role, hash_token(token), datetime.now(UTC))
        self._insert(record)
        return token

    @abstractmethod
    def records(self) -> list[TokenRecord]:
        """Every token's record, oldest first."""

    @abstractmethod
    def revoke(self, name: str) -> bool:
        """Forget the token named ``name``; False when there was none."""

    @abstractmethod
    def _insert(self, record: TokenRecord) -> None:
        """Keep ``record``; ``TokenNameTaken`` if its name is in use."""


class FileTokenStore(TokenStore):
    """Tokens in a JSON file (for deployments that keep secrets out of the database).

    Rewritten whole through a temporary file and an atomic rename, readable by
    its owner only.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def records(self) -> list[TokenRecord]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        entries: list[dict[str, Any]] = json.loads(raw).get("tokens", []) if raw.strip() else []
        return [
            TokenRecord(
                name=entry["name"],
                role=entry["role"],
                token_hash=entry["sha256"],
                created_at=datetime.fromisoformat(entry["createdAt"]),
            )
            for entry in entries
        ]

    def revoke(self, name: str) -> bool:
        kept = [record for record in self.records() if record.name != name]
        if len(kept) == len(self.records()):
            return False
        self._write(kept)
        return True

    def _insert(self, record: TokenRecord) -> None:
        existing = self.records()
        if any(other.name == record.name for other in existing):
            raise TokenNameTaken(record.name)
        self._write([*existing, record])

    def _write(self, records: list[TokenRecord]) -> None:
        document = {
            "tokens": [
                {
                    "name": record.name,
                    "role": record.role,
                    "sha256": record.token_hash,
                    "createdAt": record.created_at.isoformat(),
                }
                for record in records
            ]
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".tokens-")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                json.dump(document, file, indent=2)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


class SQLiteTokenStore(TokenStore):
    """Tokens in the SQLite file of the events."""

    def __init__(self, datastore: SQLiteDatastore, *, create_table: bool) -> None:
        self._datastore = datastore
        if create_table:
            with store_errors(), datastore.transaction(commit=True) as cursor:
                cursor.execute(
                    f"CREATE TABLE IF NOT EXISTS {TOKENS_TABLE} ("
                    "name TEXT PRIMARY KEY, role TEXT NOT NULL, "
                    "token_sha256 TEXT NOT NULL, created_at TEXT NOT NULL)"
                )

    def records(self) -> list[TokenRecord]:
        with store_errors(), self._datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT name, role, token_sha256, created_at FROM {TOKENS_TABLE} "
                "ORDER BY created_at, name"
            )
            rows = cursor.fetchall()
        return [
            TokenRecord(
                row["name"],
                row["role"],
                row["token_sha256"],
                datetime.fromisoformat(row["created_at"]),
            )
            for row in rows
        ]

    def revoke(self, name: str) -> bool:
        with store_errors(), self._datastore.transaction(commit=True) as cursor:
            cursor.execute(f"DELETE FROM {TOKENS_TABLE} WHERE name = ? RETURNING name", (name,))
            return cursor.fetchone() is not None

    def _insert(self, record: TokenRecord) -> None:
        try:
            with store_errors(), self._datastore.transaction(commit=True) as cursor:
                cursor.execute(
                    f"INSERT INTO {TOKENS_TABLE} (name, role, token_sha256, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (record.name, record.role, record.token_hash, record.created_at.isoformat()),
                )
        except IntegrityError:
            raise TokenNameTaken(record.name) from None


class PostgresTokenStore(TokenStore):
    """Tokens in PostgreSQL, in the schema of the events."""

    def __init__(self, datastore: PostgresDatastore, *, create_table: bool) -> None:
        self._datastore = datastore
        table = SQL("{}.{}").format(Identifier(datastore.schema), Identifier(TOKENS_TABLE))
        self._select = SQL(
            "SELECT name, role, token_sha256, created_at FROM {} ORDER BY created_at, name"
        ).format(table)
        self._delete = SQL("DELETE FROM {} WHERE name = %s RETURNING name").format(table)
        self._insert_sql = SQL(
            "INSERT INTO {} (name, role, token_sha256, created_at) VALUES (%s, %s, %s, %s)"
        ).format(table)
        if create_table:
            with store_errors(), datastore.transaction(commit=True) as cursor:
                cursor.execute(
                    SQL(
                        "CREATE TABLE IF NOT EXISTS {} ("
                        "name text PRIMARY KEY, role text NOT NULL, "
                        "token_sha256 text NOT NULL, created_at timestamptz NOT NULL)"
                    ).format(table)
                )

    def records(self) -> list[TokenRecord]:
        with store_errors(), self._datastore.transaction(commit=False) as cursor:
            cursor.execute(self._select)
            rows = cursor.fetchall()
        return [
            TokenRecord(row["name"], row["role"], row["token_sha256"], row["created_at"])
            for row in rows
        ]

    def revoke(self, name: str) -> bool:
        with store_errors(), self._datastore.transaction(commit=True) as cursor:
            cursor.execute(self._delete, (name,))
            return cursor.fetchone() is not None

    def _insert(self, record: TokenRecord) -> None:
        try:
            with store_errors(), self._datastore.transaction(commit=True) as cursor:
                cursor.execute(
                    self._insert_sql,
                    (record.name, record.role, record.token_hash, record.created_at),
                )
        except IntegrityError:
            raise TokenNameTaken(record.name) from None


def open_token_store(
    tokens_file: Path | None,
    datastore: SQLiteDatastore | PostgresDatastore,
    *,
    create_table: bool,
) -> TokenStore:
    """The file store when a tokens file is configured, else the store's database."""
    if tokens_file is not None:
        return FileTokenStore(tokens_file)
    if isinstance(datastore, PostgresDatastore):
        return PostgresTokenStore(datastore, create_table=create_table)
    return SQLiteTokenStore(datastore, create_table=create_table)
