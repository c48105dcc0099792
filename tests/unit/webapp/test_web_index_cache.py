"""The list of existing indices is cached: asked again when stale or when a request needs a
name not seen since the last listing, but not once per request for an index that is absent."""

from __future__ import annotations

import time

from crashline.webapp.supersearch.service import IndexCache


class Backend:
    def __init__(self, names):
        self.names = set(names)
        self.listings = 0

    def existing_indices(self):
        self.listings += 1
        return sorted(self.names)


def test_an_absent_index_is_not_listed_again_until_the_cache_expires():
    backend = Backend({"crashline-202647"})
    cache = IndexCache(backend, ttl=60)
    wanted = ["crashline-202646", "crashline-202647"]
    for _ in range(10):
        assert cache.existing(wanted) == {"crashline-202647"}
    assert backend.listings == 1


def test_a_name_never_seen_before_triggers_a_listing():
    backend = Backend({"crashline-202647"})
    cache = IndexCache(backend, ttl=60)
    assert cache.existing(["crashline-202647"]) == {"crashline-202647"}
    backend.names.add("crashline-202648")  # a new week's index, just created
    assert cache.existing(["crashline-202648"]) == {"crashline-202648"}
    assert backend.listings == 2


def test_a_stale_listing_is_refreshed(monkeypatch):
    backend = Backend({"a"})
    cache = IndexCache(backend, ttl=5)
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    assert cache.existing(["a", "b"]) == {"a"}
    backend.names.add("b")
    clock[0] += 1
    assert cache.existing(["a", "b"]) == {"a"}  # "b" was absent a second ago: not asked again
    clock[0] += 5
    assert cache.existing(["a", "b"]) == {"a", "b"}
    assert backend.listings == 2


def test_a_zero_ttl_lists_every_time():
    backend = Backend({"a"})
    cache = IndexCache(backend, ttl=0)
    for _ in range(3):
        cache.existing(["a"])
        time.sleep(0.001)
    assert backend.listings == 3
