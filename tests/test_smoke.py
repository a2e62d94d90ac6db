from fastapi.testclient import TestClient


def test_create_then_get_returns_the_same_representation(
    client: TestClient, new_shipment: dict
) -> None:
    created = client.post("/v1/shipments", json=new_shipment)
    assert created.status_code == 201, created.text
    fetched = client.get(created.headers["Location"])
    assert fetched.status_code == 200
    assert fetched.json() == created.json()
    assert fetched.headers["ETag"] == created.headers["ETag"]
