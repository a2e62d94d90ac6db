"""Several If-Match / If-None-Match lines form one list (RFC 9110 §5.3)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.plumbing.header_folding import fold_list_headers


def test_repeated_list_headers_fold_into_one_line_in_place() -> None:
    headers = [(b"if-match", b'"a"'), (b"accept", b"*/*"), (b"If-Match", b'"b"')]
    assert fold_list_headers(headers) == [(b"if-match", b'"a", "b"'), (b"accept", b"*/*")]


def test_a_current_tag_on_a_second_if_match_line_lets_the_write_through(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    created = client.post("/v1/shipments", json=new_shipment)
    stale = '"bm90LWEtdGFn"'
    answer = client.patch(
        created.headers["Location"],
        json={"weightLbs": 1200},
        headers=[("If-Match", stale), ("If-Match", created.headers["ETag"])],
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["version"] == 2


def test_a_current_tag_on_a_second_if_none_match_line_answers_304(
    client: TestClient, new_shipment: dict[str, Any]
) -> None:
    created = client.post("/v1/shipments", json=new_shipment)
    answer = client.get(
        created.headers["Location"],
        headers=[("If-None-Match", '"other"'), ("If-None-Match", created.headers["ETag"])],
    )
    assert answer.status_code == 304
