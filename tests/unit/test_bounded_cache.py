"""The bounded memory of facts about the past."""

from __future__ import annotations

from infrastructure.bounded_cache import BoundedCache


def test_the_least_recently_used_entry_is_forgotten_first() -> None:
    cache: BoundedCache[str, int] = BoundedCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)

    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == (1, 3)
