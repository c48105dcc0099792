"""Running a Super Search: validate, pick the indices of the window, query, shape."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Mapping

from crashline.common.search import SearchBackend, SearchError
from crashline.common.search.client import DocumentRejected
from crashline.webapp.auth.principal import Principal
from crashline.webapp.errors import APIError, ParamError, bad_param, bad_request, unavailable
from crashline.webapp.supersearch.query import (
    SearchRequest,
    build_query,
    parse_search,
    regex_params,
)
from crashline.webapp.supersearch.response import shape_response

log = logging.getLogger(__name__)

REGEX_REFUSED = ("the search engine refused this regular expression (invalid, or too complex); "
                 "it uses Lucene syntax and must match the whole value")


# Shard failure types that mean "this query cannot be built", not "the shard is unwell".
QUERY_ERRORS = frozenset({"query_shard_exception", "illegal_argument_exception",
                          "too_complex_to_determinize_exception", "parse_exception",
                          "search_parse_exception", "x_content_parse_exception"})


def query_refusal(result: Mapping) -> str | None:
    for failure in (result.get("_shards") or {}).get("failures") or []:
        reason = failure.get("reason") or {}
        if isinstance(reason, Mapping) and reason.get("type") in QUERY_ERRORS:
            return f"{reason.get('type')}: {reason.get('reason')}"
    return None


class IndexCache:
    """Which of our indices exist, asked of the engine at most every ``ttl`` seconds, or
    sooner when a request needs a name not seen since the last listing. A name found missing
    is not asked about again until the listing expires: a window that reaches back before the
    first crash must not cost a listing per request."""

    def __init__(self, backend: SearchBackend, ttl: float):
        self.backend = backend
        self.ttl = ttl
        self._names: frozenset[str] = frozenset()
        self._absent: frozenset[str] = frozenset()
        self._fetched = 0.0
        self._lock = threading.Lock()

    def existing(self, wanted: list[str]) -> set[str]:
        needed = set(wanted)
        names, fetched = self._names, self._fetched
        stale = time.monotonic() - fetched > self.ttl
        if stale or not needed <= names | self._absent:
            with self._lock:
                if self._fetched == fetched:  # nobody refreshed meanwhile
                    self._names = frozenset(self.backend.existing_indices())
                    self._absent = frozenset()
                    self._fetched = time.monotonic()
                self._absent |= needed - self._names
                names = self._names
        return needed & names


class SuperSearch:
    def __init__(self, backend: SearchBackend, retention_weeks: int, index_cache_ttl: float):
        self.backend = backend
        self.retention = dt.timedelta(weeks=retention_weeks)
        self.indices = IndexCache(backend, index_cache_ttl)

    def index_names(self, request: SearchRequest, now: dt.datetime) -> list[str]:
        start = max(request.window.start, now - self.retention)
        return self.backend.namer.for_range(start, request.window.end)

    def run(self, params: Mapping[str, list[str]], principal: Principal,
            now: dt.datetime | None = None) -> dict:
        now = now or dt.datetime.now(dt.UTC)
        try:
            request = parse_search(params, principal, now)
        except ParamError as exc:
            raise bad_param(exc.param, exc.message) from None
        body = build_query(request)
        wanted = self.index_names(request, now)
        try:
            existing = self.indices.existing(wanted)
        except SearchError as exc:
            log.warning("listing indices failed: %s", exc)
            raise unavailable("The search engine") from None
        indices = [name for name in wanted if name in existing]
        if request.return_query:
            return {"query": body, "indices": indices}
        try:
            result = self.backend.search(indices, body)
        except SearchError as exc:
            raise self._search_failure(request, exc) from None
        refused = query_refusal(result)
        if refused:
            # Shards that could not even build the query: the request is at fault (a regex),
            # and it is refused the same way everywhere; the shards skipped by the date
            # window just did not notice.
            raise self._search_failure(request, DocumentRejected(refused)) from None
        missing = [name for name in wanted if name not in existing]
        return shape_response(request, result, missing)

    @staticmethod
    def _search_failure(request: SearchRequest, exc: SearchError) -> APIError:
        """Our own answer to a failed search. The engine's text names indices, index uuids and
        shard internals, so it goes to the log only."""
        reason = str(exc)
        short = reason if len(reason) <= 2000 else reason[:2000] + "..."
        if "too_many_buckets" in reason or "max_buckets" in reason:
            log.info("search refused, too many buckets: %s", short)
            return bad_param("_facets_size", "the facets ask for too many buckets; use a "
                                             "smaller _facets_size, fewer nested facets or a "
                                             "wider histogram interval")
        if isinstance(exc, DocumentRejected) or "search_phase_execution_exception" in reason:
            log.info("search refused by the engine: %s", short)
            regex = regex_params(request)
            if regex:
                return bad_param(regex[0], REGEX_REFUSED)
            if isinstance(exc, DocumentRejected):
                return bad_request("the search engine refused the query")
        if "timed out" in reason.lower() or "timeout" in reason.lower():
            log.warning("search timed out: %s", short)
            return APIError("504 Gateway Timeout", "The query timed out; narrow it down")
        log.warning("search failed: %s", short)
        return unavailable("The search engine")
