"""Query parameter types that accept exactly the text the OpenAPI document states.

pydantic's lax parsing also takes epoch numbers for dates and instants ("0",
"0.5"); a client that sends one has misread the contract, so it is a 422 here,
as the document's ``format: date`` and ``format: date-time`` say.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

from api.http.instants import in_utc, rfc3339_moment

_FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _rfc3339_text(value: object) -> object:
    if isinstance(value, str) and rfc3339_moment(value) is None:
        raise ValueError(
            "must be an RFC 3339 timestamp with a time zone, e.g. 2020-05-01T18:56:13Z"
        )
    return value


def _full_date_text(value: object) -> object:
    if isinstance(value, str) and not _FULL_DATE.fullmatch(value):
        raise ValueError("must be a date as YYYY-MM-DD")
    return value


Rfc3339Instant = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text), AfterValidator(in_utc)]
"""An instant, read by the same rule as ``asOf`` and held in UTC (``api.http.instants``)."""

FullDate = Annotated[date, BeforeValidator(_full_date_text)]
"""A calendar date written YYYY-MM-DD (RFC 3339 full-date)."""
