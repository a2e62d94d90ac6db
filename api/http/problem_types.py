"""Every problem type the service emits: its title, its status, what happened, what to do.

One table, read by the answers (``api.http.problems`` takes each type's title
from here, so one type never has two titles) and by the pages that document
each type (``api.http.problem_pages``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProblemType:
    """What a problem type means and what a client does about it."""

    title: str
    status: int
    happened: str
    to_do: str


PROBLEM_TYPES: dict[str, ProblemType] = {
    "version-conflict": ProblemType(
        "The shipment was changed by someone else",
        412,
        "The If-Match tag you sent does not name the shipment's current version: another "
        "writer changed it after you read it. "
        "Nothing was written. The answer's currentVersion and currentETag, and its ETag "
        "header, name the current version.",
        "Read the shipment again (GET), re-apply your change to what you read, and send it "
        "with the new ETag in If-Match. To retry a write whose answer you lost, send the "
        "same Idempotency-Key: a write already applied is answered as it was the first time.",
    ),
    "unknown-tag": ProblemType(
        "If-Match names no version of this shipment",
        412,
        "The If-Match header you sent holds no ETag this service issued for this "
        'shipment: a weak tag (W/"…", which never matches a write), the tag of another '
        "shipment, or text that is not a tag at all. Nobody else changed anything because "
        "of it. Nothing was written. The answer's currentVersion and currentETag, and its "
        "ETag header, name the current version.",
        "Send the ETag header of a GET of this shipment, as it was given (quoted, without "
        "W/), or * to write whatever the current version is.",
    ),
    "if-none-match-matched": ProblemType(
        "The shipment matches If-None-Match",
        412,
        "The write carried If-None-Match, and it matched: with * the shipment exists; with "
        "a tag, the shipment is at that version. You asked for the write to be made only "
        "if it did not match, so nothing was written.",
        "Leave If-None-Match out to replace the shipment, with If-Match naming the version "
        "you read.",
    ),
    "illegal-transition": ProblemType(
        "The status cannot change that way",
        409,
        "The status machine does not allow the move you asked for. Statuses go DRAFT, "
        "SUBMITTED, APPROVED, IN_TRANSIT, DELIVERED, one step at a time; any status but "
        "DELIVERED may go to CANCELED. currentStatus and requestedStatus say which move "
        "was refused. Nothing was written.",
        "Send the next status in order, or CANCELED. Read the shipment if you are not sure "
        "where it stands.",
    ),
    "shipment-closed": ProblemType(
        "The shipment is closed",
        409,
        "The shipment is DELIVERED or CANCELED, and a closed shipment never changes again. "
        "Nothing was written.",
        "Create a new shipment if something must still happen; the closed one stays as "
        "it is, with its history.",
    ),
    "invalid-request": ProblemType(
        "The request is not valid",
        422,
        "A field or parameter broke a rule of the contract: a wrong type or format, a "
        "value out of range, an unknown field (a typo is never dropped silently), a "
        "delivery date before the pickup date, or a list cursor this service did not "
        "issue. The errors member names each field and why. Nothing was written.",
        "Fix the fields named in errors and send the request again. /openapi.json states "
        "every rule.",
    ),
    "idempotency-key-reused": ProblemType(
        "Idempotency-Key reused",
        422,
        "The Idempotency-Key you sent was already used, by you, for a different request "
        "(another method, path or body). Nothing was written.",
        "Use a new key for each new write; send the same key only to retry the very same request.",
    ),
}


def registered_title(type_: str) -> str | None:
    """The title of a ``/problems/…`` type, or None for any other type."""
    found = PROBLEM_TYPES.get(type_.removeprefix("/problems/"))
    return None if found is None or not type_.startswith("/problems/") else found.title
