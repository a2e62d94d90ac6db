"""Value objects of the shipment domain and the rules that belong to each."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from domain.errors import FieldProblem, InvalidShipment

MIN_WEIGHT_LBS = 1
MAX_WEIGHT_LBS = 100_000
MAX_REMARKS_LENGTH = 2000
MAX_TEXT_LENGTH = 200
POSTAL_CODE_PATTERN = r"^[0-9]{5}(-[0-9]{4})?$"
STATE_CODE_PATTERN = r"^[A-Z]{2}$"

# USPS codes of the states, DC and the territories a US shipment can be addressed to.
US_STATE_CODES: frozenset[str] = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "AS",
        "GU",
        "MP",
        "PR",
        "VI",
        "AA",
        "AE",
        "AP",
    ]
)

_POSTAL_CODE = re.compile(POSTAL_CODE_PATTERN)


class Status(Enum):
    """Where a shipment is in its life; the status machine lives here."""

    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    APPROVED = "APPROVED"
    IN_TRANSIT = "IN_TRANSIT"
    DELIVERED = "DELIVERED"
    CANCELED = "CANCELED"

    @property
    def is_final(self) -> bool:
        """Final statuses accept no change of any kind."""
        return self in (Status.DELIVERED, Status.CANCELED)

    def can_move_to(self, target: Status) -> bool:
        """Whether the status machine allows a move from this status to ``target``."""
        if self.is_final or target == self:
            return False
        if target == Status.CANCELED:
            return True
        return _NEXT.get(self) == target

    def moves(self) -> tuple[Status, ...]:
        """The statuses this one may move to, in the machine's order (none when final)."""
        return tuple(target for target in Status if self.can_move_to(target))


_NEXT: dict[Status, Status] = {
    Status.DRAFT: Status.SUBMITTED,
    Status.SUBMITTED: Status.APPROVED,
    Status.APPROVED: Status.IN_TRANSIT,
    Status.IN_TRANSIT: Status.DELIVERED,
}


class ShipmentType(Enum):
    """The kinds of move a shipment can be (the MilMove shipment types)."""

    HHG = "HHG"
    PPM = "PPM"
    NTS = "NTS"
    UHAUL = "UHAUL"
    UPS = "UPS"
    BOAT_HAUL_AWAY = "BOAT_HAUL_AWAY"
    MOBILE_HOME = "MOBILE_HOME"


@dataclass(frozen=True)
class Address:
    """A US postal address; constructing one validates it."""

    street_address1: str
    city: str
    state: str
    postal_code: str
    street_address2: str | None = None

    @classmethod
    def restore(cls, **values: str | None) -> Address:
        """Rebuild a recorded address without re-validating it.

        History is never rejected by today's rules: a fact stays readable even
        after a validation rule tightens.
        """
        address = object.__new__(cls)
        for name in cls.__dataclass_fields__:
            object.__setattr__(address, name, values.get(name))
        return address

    def __post_init__(self) -> None:
        problems = [
            FieldProblem(name, "must not be blank")
            for name in ("street_address1", "city")
            if not getattr(self, name).strip()
        ]
        problems += [
            FieldProblem(name, f"must be at most {MAX_TEXT_LENGTH} characters")
            for name in ("street_address1", "street_address2", "city")
            if len(getattr(self, name) or "") > MAX_TEXT_LENGTH
        ]
        if self.state not in US_STATE_CODES:
            problems.append(FieldProblem("state", "must be a two-letter US state code"))
        # fullmatch, not match: "$" also matches before a trailing newline.
        if not _POSTAL_CODE.fullmatch(self.postal_code):
            problems.append(FieldProblem("postal_code", "must be 12345 or 12345-6789"))
        if problems:
            raise InvalidShipment(problems)
