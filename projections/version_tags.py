"""Opaque tags that name one version of one shipment (the HTTP ETag values).

A tag is base64url of ``<id>:<version>``: the server decodes it and needs no
lookup table, and a tag of one shipment can never name another.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class VersionTag:
    """A decoded tag: which shipment, which stream position."""

    shipment_id: UUID
    version: int


def encode_tag(shipment_id: UUID, version: int) -> str:
    """The tag for ``shipment_id`` at ``version``."""
    raw = f"{shipment_id}:{version}".encode("ascii")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_tag(tag: str) -> VersionTag | None:
    """The shipment and version a tag names, or None for anything we never issued."""
    if not tag or len(tag) > 128:
        return None
    try:
        raw = base64.urlsafe_b64decode(tag + "=" * (-len(tag) % 4)).decode("ascii")
        id_text, _, version_text = raw.partition(":")
        version = int(version_text)
        shipment_id = UUID(id_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if version < 1 or not version_text.isdigit() or encode_tag(shipment_id, version) != tag:
        return None
    return VersionTag(shipment_id, version)
