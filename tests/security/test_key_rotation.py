"""The provider's keys: rotation without a restart, at most one fetch per 30 s, a provider down.

The app's clock is a ``FakeClock``: the 30 s between fetches pass when the test
says so. Reads only, so one store is enough.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from api.plumbing.oidc_provider import OidcProvider
from tests.security.test_authentication import assert_problem
from tests.support.auth_clients import bearer
from tests.support.oidc_clients import OidcApp

SHIPMENTS = "/v1/shipments"
NOT_THE_PROVIDERS = "the token is not signed with a key of the identity provider"


@pytest.fixture
def store_kind() -> str:
    return "sqlite"


def status_with(oidc: OidcApp, kid: str) -> int:
    answer = oidc.client.get(SHIPMENTS, headers=bearer(oidc.token("ada", ["reader"], kid=kid)))
    return answer.status_code


def named_key(oidc: OidcApp, kid: str) -> str:
    """A token whose header names ``kid``, a key the provider does not publish."""
    state = oidc.provider.state
    claims = state.claims("mallory", ["admin"], now=oidc.clock())
    return state.sign(claims, "rsa-1", headers={"kid": kid})


def test_a_new_key_is_fetched_at_once_when_a_token_names_it(oidc: OidcApp) -> None:
    state = oidc.provider.state
    fetched = state.key_set_fetches
    state.add_key("rsa-2", "RS256")

    assert status_with(oidc, "rsa-2") == 200
    assert state.key_set_fetches == fetched + 1
    assert status_with(oidc, "rsa-2") == 200  # known now: no fetch
    assert state.key_set_fetches == fetched + 1


def test_unknown_keys_fetch_the_set_at_most_once_every_30_seconds(oidc: OidcApp) -> None:
    state = oidc.provider.state
    fetched = state.key_set_fetches
    for attempt in range(5):
        answer = oidc.client.get(SHIPMENTS, headers=bearer(named_key(oidc, f"made-up-{attempt}")))
        assert assert_problem(answer, 401)["detail"].endswith(NOT_THE_PROVIDERS)
    assert state.key_set_fetches == fetched + 1

    state.add_key("rsa-2", "RS256")
    oidc.clock.advance(29)
    assert status_with(oidc, "rsa-2") == 401  # still too soon to ask again
    assert state.key_set_fetches == fetched + 1
    oidc.clock.advance(1)
    assert status_with(oidc, "rsa-2") == 200
    assert state.key_set_fetches == fetched + 2


def test_a_key_that_left_the_set_is_refused_even_for_a_token_seen_before(oidc: OidcApp) -> None:
    state = oidc.provider.state
    old_token = oidc.token("ada", ["reader"], kid="rsa-1")
    assert oidc.client.get(SHIPMENTS, headers=bearer(old_token)).status_code == 200
    state.add_key("rsa-2", "RS256", publish=False)
    state.publish("rsa-2", "ec-1")  # rsa-1 rotated out

    assert status_with(oidc, "rsa-2") == 200  # the refetch that sees the new set
    answer = oidc.client.get(SHIPMENTS, headers=bearer(old_token))
    assert_problem(answer, 401)
    assert status_with(oidc, "ec-1") == 200  # unchanged keys stay trusted


def test_the_set_is_read_again_when_it_is_older_than_its_maximum_age(oidc: OidcApp) -> None:
    state = oidc.provider.state
    old_token = oidc.token("ada", ["reader"], kid="rsa-1", exp=int(oidc.clock()) + 3600)
    assert oidc.client.get(SHIPMENTS, headers=bearer(old_token)).status_code == 200
    fetched = state.key_set_fetches
    state.publish("ec-1")

    oidc.clock.advance(301)
    # This request starts the background re-read and is answered with the keys held.
    assert oidc.client.get(SHIPMENTS, headers=bearer(old_token)).status_code == 200
    wait_for(lambda: state.key_set_fetches == fetched + 1)
    wait_for(lambda: oidc.verifier.key_set.key("rsa-1") is None)
    assert_problem(oidc.client.get(SHIPMENTS, headers=bearer(old_token)), 401)


def test_with_the_provider_down_known_keys_still_work_and_unknown_ones_are_401(
    oidc: OidcApp,
) -> None:
    oidc.provider.down()
    assert status_with(oidc, "ed-1") == 200  # a token never seen, a key already held
    oidc.clock.advance(60)
    answer = oidc.client.get(SHIPMENTS, headers=bearer(named_key(oidc, "rsa-9")))
    assert assert_problem(answer, 401)["detail"].endswith(NOT_THE_PROVIDERS)
    assert status_with(oidc, "ec-1") == 200


def test_keys_are_never_fetched_in_the_event_loops_thread(
    oidc: OidcApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads_with_a_loop: list[str] = []
    fetch = OidcProvider.fetch_key_set

    def watched(provider: OidcProvider) -> object:
        try:
            asyncio.get_running_loop()
            threads_with_a_loop.append(threading.current_thread().name)
        except RuntimeError:
            pass
        return fetch(provider)

    monkeypatch.setattr(OidcProvider, "fetch_key_set", watched)
    oidc.provider.state.add_key("rsa-2", "RS256")
    fetched = oidc.provider.state.key_set_fetches
    assert status_with(oidc, "rsa-2") == 200
    assert oidc.provider.state.key_set_fetches == fetched + 1
    assert threads_with_a_loop == []


def wait_for(condition: object, seconds: float = 10.0) -> None:
    """Until a background thread made ``condition`` true (polls; fails after ``seconds``)."""
    import time

    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the background re-read did not happen"
        time.sleep(0.01)
