"""The service's master key: what wraps each shipment's personal-data key.

A shipment's own key (``personal_data_keys``) is stored wrapped by this key, so a
copy of the database alone opens nothing; the master key comes from the settings
(``SHIPMENTS_MASTER_KEY`` or a file) and is never written beside the keys it wraps.
For ``make run`` to need no set-up, a SQLite store with none configured gets one
generated into a file beside it (``<store>.master-key``, mode 0600); ``serve``
allows that on loopback only and says so at start, as it does for open auth.

The store keeps a check value sealed under the key: a server given a different
key than the one its keys were wrapped with refuses to start (``MasterKeyMismatch``)
rather than open nothing and take every shipment for erased.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from infrastructure.database_url import DatabaseTarget
from infrastructure.settings import Settings

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
_CHECK_PLAINTEXT = b"shipments master key check v1"
_CHECK_AAD = b"master-key-check"


class MasterKeyProblem(Exception):
    """The master key is missing, malformed or not the store's: the service must not start."""


class MasterKeyMismatch(MasterKeyProblem):
    """The configured master key is not the one this store's keys are wrapped with."""


@dataclass(frozen=True)
class MasterKey:
    """The key itself and where it came from (for the start-up message)."""

    secret: bytes
    source: str
    generated: bool = False  # written just now, beside the SQLite store

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """AES-GCM under the master key: nonce then ciphertext and tag."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + AESGCM(self.secret).encrypt(nonce, plaintext, aad)

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        """What ``seal`` sealed; raises ``InvalidTag`` for another key or other bytes."""
        return AESGCM(self.secret).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)

    def check_value(self) -> bytes:
        """Sealed bytes the store keeps, to tell this key from any other at start."""
        return self.seal(_CHECK_PLAINTEXT, _CHECK_AAD)

    def verify(self, check_value: bytes) -> None:
        """Raise ``MasterKeyMismatch`` unless ``check_value`` was made with this key."""
        try:
            self.open(check_value, _CHECK_AAD)
        except InvalidTag:
            raise MasterKeyMismatch(
                f"the master key from {self.source} is not the key this store's personal-data "
                "keys were wrapped with; start with the store's own key (SHIPMENTS_MASTER_KEY or "
                "SHIPMENTS_MASTER_KEY_FILE)"
            ) from None


def new_master_key_text() -> str:
    """A fresh master key, as configured (base64 of 32 random bytes)."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def parse_master_key(text: str, source: str) -> MasterKey:
    """The key from its configured text; ``MasterKeyProblem`` when it is not 32 bytes of base64."""
    try:
        secret = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        secret = b""
    if len(secret) != KEY_BYTES:
        raise MasterKeyProblem(
            f"the master key from {source} must be {KEY_BYTES} random bytes in base64 "
            "(make one with: shipments master-key)"
        )
    return MasterKey(secret, source)


def beside_store(target: DatabaseTarget) -> Path | None:
    """Where a SQLite store keeps a generated master key (None: not a SQLite file)."""
    name = target.library_env.get("SQLITE_DBNAME", "")
    if target.dialect != "sqlite" or not name or ":memory:" in name or "mode=memory" in name:
        return None
    return Path(name).with_name(Path(name).name + ".master-key")


def resolve_master_key(settings: Settings, target: DatabaseTarget) -> MasterKey:
    """The configured master key, else the one kept beside a SQLite store (made if need be).

    An in-memory SQLite store gets a key for its lifetime (its data dies with it).
    Anything else without a key is a ``MasterKeyProblem``.
    """
    if settings.master_key is not None:
        return parse_master_key(settings.master_key.get_secret_value(), "SHIPMENTS_MASTER_KEY")
    if settings.master_key_file is not None:
        return _from_file(settings.master_key_file)
    path = beside_store(target)
    if path is not None:
        if path.exists():
            return _from_file(path)
        return _generate(path)
    if target.dialect == "sqlite":
        return MasterKey(secrets.token_bytes(KEY_BYTES), "memory (an in-memory store)")
    raise MasterKeyProblem(
        "no master key: set SHIPMENTS_MASTER_KEY (or SHIPMENTS_MASTER_KEY_FILE) to the key that "
        "wraps this store's personal-data keys (a new store: make one with shipments master-key)"
    )


def _from_file(path: Path) -> MasterKey:
    try:
        text = path.read_text()
    except OSError as error:
        raise MasterKeyProblem(
            f"cannot read the master key file {path}: {error.strerror}"
        ) from None
    return parse_master_key(text, str(path))


def _generate(path: Path) -> MasterKey:
    """A new key in a new file only its owner can read (never overwriting one)."""
    text = new_master_key_text()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return _from_file(path)
    with os.fdopen(descriptor, "w") as file:
        file.write(text + "\n")
    key = parse_master_key(text, str(path))
    return MasterKey(key.secret, key.source, generated=True)
