"""Who is calling: the subject recorded as each event's ``actor``, and their role."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Role(Enum):
    """What a caller may do: readers read, writers also write, admins also operate."""

    READER = "reader"
    WRITER = "writer"
    ADMIN = "admin"

    def allows(self, needed: Role) -> bool:
        order = [Role.READER, Role.WRITER, Role.ADMIN]
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True)
class Principal:
    """An authenticated (or, in open local mode, anonymous) caller."""

    subject: str
    role: Role


ANONYMOUS = Principal(subject="anonymous", role=Role.ADMIN)
