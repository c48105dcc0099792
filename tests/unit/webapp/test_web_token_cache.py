"""The resolved-token cache: an entry holds only under the generation it was resolved in,
until its token expires, and the cache keeps at most ``size`` entries."""

from __future__ import annotations

import datetime as dt

from crashline.webapp.auth.principal import Principal
from crashline.webapp.auth.tokencache import CachedToken, TokenCache

NOW = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=1)


def entry(user_id: int = 1, generation: int = 7, expires_at: dt.datetime = LATER):
    return CachedToken(Principal(user_id, f"user{user_id}", frozenset({"view_pii"}), user_id),
                       expires_at, generation, touched_at=0.0)


def test_an_entry_holds_under_its_own_generation_only():
    cache = TokenCache(10)
    cache.put("a", entry(generation=7))
    assert cache.get("a", 7, NOW).principal.user_id == 1
    assert cache.get("a", 8, NOW) is None  # something changed: looked up again
    assert cache.get("a", 7, NOW) is None  # and the stale entry is gone
    assert cache.peek("a") is None


def test_an_expired_token_is_never_answered_from_the_cache():
    cache = TokenCache(10)
    cache.put("a", entry(expires_at=NOW + dt.timedelta(seconds=1)))
    assert cache.get("a", 7, NOW) is not None
    assert cache.get("a", 7, NOW + dt.timedelta(seconds=1)) is None


def test_peek_guesses_the_user_whatever_the_generation():
    cache = TokenCache(10)
    cache.put("a", entry(user_id=42, generation=1))
    assert cache.peek("a").principal.user_id == 42
    assert cache.peek("b") is None


def test_the_least_recently_used_entries_go_first():
    cache = TokenCache(2)
    cache.put("a", entry(1))
    cache.put("b", entry(2))
    assert cache.get("a", 7, NOW) is not None  # a is now the most recent
    cache.put("c", entry(3))
    assert cache.peek("b") is None
    assert cache.peek("a") is not None and cache.peek("c") is not None


def test_size_zero_caches_nothing():
    cache = TokenCache(0)
    cache.put("a", entry())
    assert cache.peek("a") is None
