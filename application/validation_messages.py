"""A refused field's reason, in the contract's words rather than the validator's.

pydantic's messages name its own machinery ("Value error, …", "Input should be a
valid integer" for a number out of range, regular expressions) and the domain
names fields as the code does (``requested_pickup_date``). A client reads the
API's names and the rule it broke, so every reason goes through here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from application.field_names import camel, camel_path
from domain.values import MAX_WEIGHT_LBS, MIN_WEIGHT_LBS

# The rule of each field whose validator message would not say it.
_RULES = {
    "weightLbs": f"must be an integer from {MIN_WEIGHT_LBS} to {MAX_WEIGHT_LBS}",
    "postalCode": "must be 12345 or 12345-6789",
    "state": "must be a two-letter US state code",
}
# pydantic error types whose message would hide one of those rules.
_RULE_ERRORS = frozenset(
    (
        "int_type",
        "int_parsing",
        "int_parsing_size",
        "int_from_float",
        "greater_than_equal",
        "less_than_equal",
        "string_pattern_mismatch",
        "enum",
        "literal_error",
    )
)
# JSON Schema counts 4200.0 as an integer; the server, strict about types, does not.
WRITE_AS_INTEGER = "must be written as an integer, without a fraction (4200, not 4200.0)"
# A JSON integer beyond 64 bits reaches the validator as a float: it is out of range.
_BEYOND_64_BITS = 2.0**63
_SNAKE_NAME = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def api_words(text: str) -> str:
    """``text`` with every code name in it (``requested_pickup_date``) as the API spells it."""
    return _SNAKE_NAME.sub(lambda match: camel(match.group()), text)


def field_error(
    error: Mapping[str, Any], location: tuple[Any, ...] | None = None
) -> dict[str, str]:
    """``{"field", "reason"}`` for one pydantic error; ``location`` overrides its ``loc``."""
    parts = error["loc"] if location is None else location
    field = camel_path(".".join(str(part) for part in parts)) or "(body)"
    return {"field": field, "reason": reason(error, field)}


def reason(error: Mapping[str, Any], field: str) -> str:
    """Why ``field`` was refused, as a rule of the contract."""
    kind = str(error.get("type", ""))
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "is required"
    leaf = field.rsplit(".", 1)[-1]
    value = error.get("input")
    integral = isinstance(value, float) and value.is_integer() and abs(value) < _BEYOND_64_BITS
    if kind == "int_type" and integral:
        return WRITE_AS_INTEGER
    if kind in _RULE_ERRORS and leaf in _RULES:
        return _RULES[leaf]
    if kind == "value_error":
        cause = (error.get("ctx") or {}).get("error")
        if cause is not None:
            return api_words(str(cause))
    message = str(error.get("msg", "is not valid"))
    if kind == "string_pattern_mismatch":
        pattern = (error.get("ctx") or {}).get("pattern")
        return f"must match the pattern {pattern}" if pattern else "has the wrong form"
    for validator_words, ours in (("Input should be ", "must be "), ("String should ", "must ")):
        if message.startswith(validator_words):
            return ours + message[len(validator_words) :]
    return api_words(message)
