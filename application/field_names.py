"""Translation of domain field names (snake_case) into the API's camelCase paths."""

from __future__ import annotations


def camel(name: str) -> str:
    """``street_address1`` → ``streetAddress1``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def camel_path(path: str) -> str:
    """``destination_address.postal_code`` → ``destinationAddress.postalCode``."""
    return ".".join(camel(part) for part in path.split("."))
