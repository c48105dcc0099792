"""One search backend over Elasticsearch 8/9 (``elasticsearch`` 8.x) and OpenSearch 2/3
(``opensearch-py``).

Both engines take the same REST paths and the same JSON query DSL, so :class:`SearchBackend`
sends every request through the client library's own transport (connection pooling,
serialisation, Elasticsearch's product check) and shapes nothing per engine. What does
differ between the two client libraries is one small table, :class:`Engine`: how to build
the client, how to send a request and unwrap its answer, and which exceptions mean "the
request was refused" and "not found".

Nothing here calls ``GET /``: Elastic's test distribution, which the local stack runs, does
not serve it. The engine is identified from ``GET /_nodes/_local`` and the product header
that Elasticsearch puts on every answer.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from crashline.common.search.indices import IndexNamer
from crashline.common.search.mapping import index_body
from crashline.common.settings import CommonSettings, SearchEngine, get_settings

log = logging.getLogger(__name__)


class SearchError(Exception):
    """The engine failed or could not be reached; the request may succeed if retried."""


class DocumentRejected(SearchError):
    """The engine refused a request (HTTP 400); ``field`` names the culprit if it can."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class WrongEngine(SearchError):
    """The server answers, but it is not the product or major version we were set up for.
    Retrying cannot fix this: it is a configuration error."""


class NotFound(SearchError):
    """HTTP 404 (a missing document or index)."""


@dataclass(frozen=True)
class Engine:
    """What differs between the client libraries of the engines we support."""

    name: SearchEngine
    product: str  # as people write it, for messages
    majors: frozenset[int]  # server major versions this client library can talk to
    connect: Callable[[str, float, int], Any]  # (url, timeout, pooled connections) -> client
    # (client, method, path, params, body, content type) -> (decoded body, response headers)
    send: Callable[[Any, str, str, dict, Any, str], tuple[Any, Mapping[str, str]]]
    bad_request: type[Exception]
    not_found: type[Exception]
    errors: tuple[type[Exception], ...]  # anything else the library raises
    error_body: Callable[[Exception], object]


def _elasticsearch() -> Engine:
    import elasticsearch

    def send(client, method, path, params, body, content_type):
        # The 8.x client sends "compatible-with=8", which 9.x servers also accept.
        response = client.perform_request(
            method, path, params=params or None, body=body,
            headers={"accept": "application/json", "content-type": content_type})
        return response.body, response.meta.headers

    return Engine(
        name=SearchEngine.ELASTICSEARCH, product="Elasticsearch", majors=frozenset({8, 9}),
        connect=lambda url, timeout, connections: elasticsearch.Elasticsearch(
            url, request_timeout=timeout, max_retries=0, connections_per_node=connections),
        send=send,
        bad_request=elasticsearch.BadRequestError,
        not_found=elasticsearch.NotFoundError,
        errors=(elasticsearch.ApiError, elasticsearch.TransportError),
        error_body=lambda exc: exc.body,
    )


def _opensearch() -> Engine:
    import opensearchpy

    def send(client, method, path, params, body, content_type):
        # Through the connection rather than the transport: only it returns the response
        # headers. We give the client one host and no retries, so nothing is bypassed.
        transport = client.transport
        data = None if body is None else transport.serializer.dumps(body)
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogatepass")
        _, headers, raw = transport.get_connection().perform_request(
            method, path, params or None, data, headers={"content-type": content_type})
        decoded = transport.deserializer.loads(raw, headers.get("content-type")) if raw else {}
        return decoded, headers

    return Engine(
        name=SearchEngine.OPENSEARCH, product="OpenSearch", majors=frozenset({2, 3}),
        connect=lambda url, timeout, connections: opensearchpy.OpenSearch(
            hosts=[url], timeout=timeout, max_retries=0, pool_maxsize=connections),
        send=send,
        bad_request=opensearchpy.exceptions.RequestError,
        not_found=opensearchpy.exceptions.NotFoundError,
        errors=(opensearchpy.exceptions.OpenSearchException,),
        error_body=lambda exc: exc.info,
    )


ENGINES: dict[SearchEngine, Callable[[], Engine]] = {
    SearchEngine.ELASTICSEARCH: _elasticsearch,
    SearchEngine.OPENSEARCH: _opensearch,
}


def _field_from_error(reason: str) -> str | None:
    """Pull the field name out of a mapper error, e.g. ``failed to parse field [uptime]``."""
    match = re.search(r"field \[([^\]]+)\]", reason)
    return match.group(1).removesuffix(".full") if match else None


def _engine_of(headers: Mapping[str, str], nodes: Mapping) -> tuple[str, str]:
    """(product, version) of the server, from ``GET /_nodes/_local`` and its headers."""
    lowered = {k.lower(): v for k, v in headers.items()}
    node = next(iter((nodes.get("nodes") or {}).values()), {})
    version = str(node.get("version") or "")
    if lowered.get("x-elastic-product") == "Elasticsearch":
        return "Elasticsearch", version
    if "x-opensearch-version" in lowered or node.get("distribution") == "opensearch":
        return "OpenSearch", version
    # Elasticsearch always names itself; of the rest, only OpenSearch answers this API
    # without a build flavor.
    return ("Elasticsearch" if "build_flavor" in node else "OpenSearch"), version


class SearchBackend:
    """Indices, documents and searches on one engine (see the module docstring)."""

    def __init__(self, engine: Engine, url: str, namer: IndexNamer, timeout: float = 30.0,
                 shards: int = 1, replicas: int = 0, connections: int = 10):
        """``connections``: how many pooled connections to keep, at least the number of
        threads that use this backend at once (more are opened, then discarded)."""
        self.engine = engine
        self.url = url
        self.namer = namer
        self.shards = shards
        self.replicas = replicas
        self.client = engine.connect(url, timeout, connections)
        self._known_indices: set[str] = set()

    # -- one request ----------------------------------------------------------------------
    def _request(self, method: str, path: str, body: Any = None, *,
                 content_type: str = "application/json",
                 **params: Any) -> tuple[Any, Mapping[str, str]]:
        engine = self.engine
        try:
            answer = engine.send(self.client, method, path, params, body, content_type)
            if answer[0] is False:  # the Elasticsearch client's answer to HEAD -> 404
                raise NotFound(f"{engine.product}: {method} {path}: not found")
            return answer
        except engine.not_found as exc:
            raise NotFound(f"{engine.product}: {method} {path}: not found") from exc
        except engine.bad_request as exc:  # HTTP 400
            reason = _reason(engine.error_body(exc))
            if "resource_already_exists" in reason:
                raise SearchError(f"resource_already_exists: {reason}") from exc
            raise DocumentRejected(f"engine refused request: {reason}",
                                   _field_from_error(reason)) from exc
        except engine.errors as exc:
            if type(exc).__name__ == "UnsupportedProductError":
                raise WrongEngine(f"the server at {self.url} is not {engine.product} "
                                  f"(CRASHLINE_SEARCH_ENGINE={engine.name.value})") from exc
            raise SearchError(f"{engine.product} request failed: {exc}") from exc

    def _json(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        return self._request(method, path, body, **params)[0]

    # -- the interface ------------------------------------------------------------------
    def ensure_index(self, name: str) -> None:
        """Create the index from the field registry unless it exists (safe under races); an
        index that exists gets the fields added to the registry since it was made."""
        if name in self._known_indices:
            return
        body = index_body(shards=self.shards, replicas=self.replicas)
        try:
            self._request("HEAD", f"/{name}")
        except NotFound:
            try:
                self._json("PUT", f"/{name}", body)
            except SearchError as exc:
                if "resource_already_exists" not in str(exc):
                    raise
        else:
            try:
                self._json("PUT", f"/{name}/_mapping",
                           {"properties": body["mappings"]["properties"]})
            except DocumentRejected as exc:  # a field's type changed: new indices get it
                log.warning("cannot bring the mapping of %s up to date: %s", name, exc)
        self._known_indices.add(name)

    def index_document(self, index: str, doc_id: str, document: dict, refresh: bool = False):
        """Index (or overwrite) a document, creating its index first if needed."""
        self.ensure_index(index)
        self._json("PUT", f"/{index}/_doc/{doc_id}", document,
                   refresh="true" if refresh else "false")

    def index_documents(self, documents: Iterable[tuple[str, str, dict]],
                        refresh: bool = False) -> dict[str, SearchError]:
        """Index (or overwrite) many ``(index, doc id, document)`` in one ``_bulk`` request,
        creating indices first if needed. Returns what the engine refused, by doc id:
        :class:`DocumentRejected` for a document it cannot take, :class:`SearchError` for
        a passing failure (a full queue, a shard not ready); the rest are indexed."""
        lines: list[bytes] = []
        for index, doc_id, document in documents:
            self.ensure_index(index)
            lines.append(orjson.dumps({"index": {"_index": index, "_id": doc_id}}))
            lines.append(orjson.dumps(document))
        if not lines:
            return {}
        answer = self._json("POST", "/_bulk", b"\n".join(lines) + b"\n",
                            content_type="application/x-ndjson",
                            refresh="true" if refresh else "false")
        if not answer.get("errors"):
            return {}
        refused: dict[str, SearchError] = {}
        for item in answer.get("items", []):
            result = item.get("index") or {}
            if "error" not in result:
                continue
            reason = _reason(result["error"])
            refused[result.get("_id")] = (
                DocumentRejected(f"engine refused document: {reason}", _field_from_error(reason))
                if result.get("status") == 400 else
                SearchError(f"{self.engine.product} could not index document: {reason}"))
        return refused

    def get_document(self, index: str, doc_id: str) -> dict | None:
        try:
            return self._json("GET", f"/{index}/_doc/{doc_id}")["_source"]
        except NotFound:
            return None

    def search(self, indices: Iterable[str], body: Mapping) -> dict:
        """Run a query over existing indices (missing ones are skipped, not an error)."""
        indices = list(indices)
        if not indices:
            return {"hits": {"total": {"value": 0}, "hits": []}, "aggregations": {}}
        return self._json("POST", f"/{','.join(indices)}/_search", dict(body),
                          ignore_unavailable="true", allow_no_indices="true")

    def existing_indices(self) -> list[str]:
        """Our indices (names only, through the cheap cat API: the webapp asks per search)."""
        rows = self._json("GET", f"/_cat/indices/{self.namer.wildcard}", h="index",
                          format="json")
        return sorted(row["index"] for row in rows if self.namer.is_ours(row["index"]))

    def index_stats(self) -> list[dict]:
        """Our indices with their health, documents and bytes on disk (the cat API)."""
        rows = self._json("GET", f"/_cat/indices/{self.namer.wildcard}",
                          h="index,health,docs.count,store.size", bytes="b", format="json")
        return sorted(({"index": row["index"], "health": row.get("health"),
                        "docs": int(row.get("docs.count") or 0),
                        "bytes": int(row.get("store.size") or 0)}
                       for row in rows if self.namer.is_ours(row["index"])),
                      key=lambda row: row["index"])

    def delete_index(self, name: str) -> None:
        self._known_indices.discard(name)
        self._json("DELETE", f"/{name}", ignore_unavailable="true")

    def refresh(self, index: str) -> None:
        self._json("POST", f"/{index}/_refresh", ignore_unavailable="true")

    def check(self) -> dict:
        """Engine name and version. Raises :class:`WrongEngine` if the server is another
        product or a major version this client cannot talk to, :class:`SearchError` if it
        does not answer."""
        nodes, headers = self._request("GET", "/_nodes/_local",
                                       filter_path="nodes.*.version,nodes.*.build_flavor")
        product, version = _engine_of(headers, nodes)
        setting = f"CRASHLINE_SEARCH_ENGINE={self.engine.name.value}"
        if product != self.engine.product:
            raise WrongEngine(f"the server at {self.url} is {product} {version}, not "
                              f"{self.engine.product} ({setting})")
        major = int(version.split(".", 1)[0]) if version[:1].isdigit() else None
        if major not in self.engine.majors:
            supported = " or ".join(f"{m}.x" for m in sorted(self.engine.majors))
            raise WrongEngine(f"the server at {self.url} is {product} {version or '(no version)'}"
                              f"; Crashline supports {product} {supported}")
        return {"engine": self.engine.name.value, "version": version}

    def wait_until_ready(self, timeout: float, interval: float = 1.0,
                         sleep: Callable[[float], None] = time.sleep) -> dict:
        """:meth:`check` until the engine answers, for at most ``timeout`` seconds; a
        :class:`WrongEngine` is raised at once (waiting cannot fix it)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.check()
            except WrongEngine:
                raise
            except SearchError as exc:
                if time.monotonic() + interval > deadline:
                    raise SearchError(f"{self.engine.product} at {self.url} did not answer "
                                      f"within {timeout:g}s: {exc}") from exc
                log.info("waiting for %s at %s: %s", self.engine.product, self.url, exc)
                sleep(interval)


def _reason(body: object) -> str:
    """The engine's error body as text (dicts as JSON, so field names stay findable)."""
    if isinstance(body, (dict, list)):
        return json.dumps(body, default=str)
    return str(body)


def search_from_settings(
    settings: CommonSettings | None = None, url: str | None = None, *, connections: int = 10
) -> SearchBackend:
    settings = settings or get_settings()
    return SearchBackend(ENGINES[settings.search_engine](), url or settings.search_url,
                         IndexNamer(settings.search_index_template), settings.search_timeout,
                         shards=settings.search_index_shards,
                         replicas=settings.search_index_replicas, connections=connections)
