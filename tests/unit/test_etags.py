"""RFC 9110 §13.1 conditions on shipment tags, table-driven.

If-Match uses the strong comparison (a weak tag never matches); If-None-Match uses the
weak one. Quoted and bare tags, lists and ``*`` are understood; anything we did not issue
for this very shipment and version never matches.
"""

from __future__ import annotations

import base64
from uuid import UUID

import pytest

from api.http.etags import (
    etag_header,
    if_match_passes,
    if_none_match_matches,
    newest_named_version,
    parse_condition,
)
from projections.version_tags import VersionTag, decode_tag, encode_tag

SHIPMENT = UUID("0b6f3a8e-5a4c-4d1e-9f0a-2b3c4d5e6f70")
OTHER = UUID("11111111-2222-4333-8444-555555555555")
VERSION = 3
TAG = encode_tag(SHIPMENT, VERSION)
OLD = encode_tag(SHIPMENT, VERSION - 1)
NEWER = encode_tag(SHIPMENT, VERSION + 1)
OTHERS = encode_tag(OTHER, VERSION)


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


# (header, passes If-Match, matches If-None-Match), against SHIPMENT at VERSION.
CASES: list[tuple[str, bool, bool]] = [
    (f'"{TAG}"', True, True),
    (TAG, True, True),
    (f'  "{TAG}"  ', True, True),
    (f'W/"{TAG}"', False, True),
    (f"W/{TAG}", False, True),
    ("*", True, True),
    (" * ", True, True),
    (f'"{OLD}"', False, False),
    (f'"{NEWER}"', False, False),
    (f'W/"{OLD}"', False, False),
    (f'"{OTHERS}"', False, False),
    (OTHERS, False, False),
    (f'"{OLD}", "{TAG}"', True, True),
    (f'"{TAG}", "{OLD}"', True, True),
    (f'"{OLD}","{TAG}"', True, True),
    (f"{OLD}, {TAG}", True, True),
    (f'W/"{TAG}", "{OLD}"', False, True),
    (f'W/"{OLD}", "{TAG}"', True, True),
    (f'"{OLD}", "{NEWER}", "{OTHERS}"', False, False),
    (f'"{OLD}", *', False, False),
    ('"*"', False, False),
    ("", False, False),
    ('""', False, False),
    ('"', False, False),
    (",", False, False),
    (f'"{TAG}', False, False),
    (f'{TAG}"', False, False),
    (f'"{TAG}"x', False, False),
    (f'"W/{TAG}"', False, False),
    ("garbage", False, False),
    ('"not-a-tag"', False, False),
    ("\x00\xff", False, False),
    ('"' + "A" * 10_000 + '"', False, False),
    (f'"{TAG}="', False, False),
    (f'"{TAG}=="', False, False),
    (f'"{TAG.lower()}"', False, False),
    (f'"{TAG[:-1]}"', False, False),
    (f'"{TAG}A"', False, False),
    (f'"{TAG[:10]}!{TAG[10:]}"', False, False),
    (f'"{TAG[:10]} {TAG[10:]}"', False, False),
    (f'"{b64(f"{SHIPMENT}:{VERSION}")}"', True, True),
    (f'"{b64(f"{SHIPMENT}:0{VERSION}")}"', False, False),
    (f'"{b64(f"{SHIPMENT}:+{VERSION}")}"', False, False),
    (f'"{b64(f"{SHIPMENT}: {VERSION}")}"', False, False),
    (f'"{b64(f"{str(SHIPMENT).upper()}:{VERSION}")}"', False, False),
    (f'"{b64(f"{SHIPMENT.hex}:{VERSION}")}"', False, False),
    (f'"{b64(f"{{{SHIPMENT}}}:{VERSION}")}"', False, False),
    (f'"{b64(f"{SHIPMENT}:{VERSION}:{VERSION}")}"', False, False),
    (f'"{b64(f"{SHIPMENT}")}"', False, False),
    (f'"{b64(f"{VERSION}")}"', False, False),
    (f'"{base64.b64encode(f"{SHIPMENT}:{VERSION}".encode()).decode()}"', False, False),
]


@pytest.mark.parametrize(("header", "passes", "_"), CASES)
def test_if_match_passes_only_for_a_strong_tag_of_this_version_or_star(
    header: str, passes: bool, _: bool
) -> None:
    assert if_match_passes(parse_condition(header), SHIPMENT, VERSION) is passes


@pytest.mark.parametrize(("header", "_", "matches"), CASES)
def test_if_none_match_matches_this_version_weak_or_strong_or_star(
    header: str, _: bool, matches: bool
) -> None:
    assert if_none_match_matches(parse_condition(header), SHIPMENT, VERSION) is matches


@pytest.mark.parametrize("header", [f'"{TAG}"', TAG, f'W/"{TAG}"', f'"{OLD}", "{TAG}"'])
def test_a_tag_of_this_shipment_never_matches_another_shipment(header: str) -> None:
    condition = parse_condition(header)
    assert not if_match_passes(condition, OTHER, VERSION)
    assert not if_none_match_matches(condition, OTHER, VERSION)


def test_the_etag_header_is_the_strong_quoted_form_of_the_opaque_tag() -> None:
    assert etag_header(SHIPMENT, VERSION) == f'"{TAG}"'
    assert not etag_header(SHIPMENT, VERSION).startswith("W/")


def test_the_tag_is_base64url_of_id_and_version_without_padding() -> None:
    assert b64(f"{SHIPMENT}:{VERSION}") == TAG
    assert "=" not in TAG
    assert set(TAG) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.mark.parametrize("version", [1, 2, 9, 10, 99, 100, 12_345, 2**31, 10**15])
def test_every_issued_tag_decodes_to_its_shipment_and_version(version: int) -> None:
    assert decode_tag(encode_tag(SHIPMENT, version)) == VersionTag(SHIPMENT, version)


def test_tags_differ_between_versions_and_between_shipments() -> None:
    tags = {encode_tag(s, v) for s in (SHIPMENT, OTHER) for v in range(1, 50)}
    assert len(tags) == 98


@pytest.mark.parametrize(
    "tag",
    [
        "",
        "=",
        TAG + "=",
        TAG + "==",
        TAG[:-1],
        TAG + "A",
        TAG.upper(),
        TAG.replace("-", "+").replace("_", "/") + "+/",
        "A" * 129,
        b64(f"{SHIPMENT}:0"),
        b64(f"{SHIPMENT}:-1"),
        b64(f"{SHIPMENT}:1.0"),
        b64(f"{SHIPMENT}:\u0661"),  # an Arabic-Indic digit one
        b64(f"{SHIPMENT}:"),
        b64(f"not-a-uuid:{VERSION}"),
        b64(f"{SHIPMENT}:{VERSION}\n"),
        b64(f"{SHIPMENT}:{VERSION}") + "\n",
        "é" * 10,
    ],
)
def test_tampered_padded_or_foreign_tokens_decode_to_nothing(tag: str) -> None:
    assert decode_tag(tag) is None


# (If-Match, the version a stale write read): the newest strong tag of this shipment
# that names a version before the current one (3); None when it names none.
NAMED_VERSIONS: list[tuple[str, int | None]] = [
    (f'"{OLD}"', 2),
    (OLD, 2),
    (f'"{encode_tag(SHIPMENT, 1)}", "{OLD}"', 2),
    (f'"{OLD}", "{encode_tag(SHIPMENT, 1)}"', 2),
    (f'"{encode_tag(SHIPMENT, 1)}", "{OTHERS}"', 1),
    (f'"{OTHERS}"', None),
    (f'W/"{OLD}"', None),
    (f'"{NEWER}"', None),
    ("*", None),
    ('"nonsense"', None),
]


@pytest.mark.parametrize(("header", "named"), NAMED_VERSIONS)
def test_a_stale_if_match_names_the_newest_older_version_of_this_shipment(
    header: str, named: int | None
) -> None:
    assert newest_named_version(parse_condition(header), SHIPMENT, VERSION) == named
