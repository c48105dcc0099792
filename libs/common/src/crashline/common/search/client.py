"""One search interface over OpenSearch (opensearch-py) and Elasticsearch 8 (elasticsearch 8.x).

Both engines take the same JSON query DSL; only the client libraries differ (argument names,
exception classes, response wrappers), and those differences stay in the two small backend
classes below. Everything else in Crashline talks to :class:`SearchBackend`.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping

from crashline.common.search.indices import IndexNamer
from crashline.common.search.mapping import index_body
from crashline.common.settings import CommonSettings, SearchEngine, get_settings

log = logging.getLogger(__name__)


class SearchError(Exception):
    """The engine failed or could not be reached; the request may succeed if retried."""


class DocumentRejected(SearchError):
    """The engine refused a document (HTTP 400); ``field`` names the culprit if it can."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class SearchBackend(ABC):
    def __init__(self, namer: IndexNamer, shards: int = 1, replicas: int = 0):
        self.namer = namer
        self.shards = shards
        self.replicas = replicas
        self._known_indices: set[str] = set()

    # -- engine-specific primitives ---------------------------------------------------
    @abstractmethod
    def _create_index(self, name: str, body: dict) -> None: ...

    @abstractmethod
    def _index_exists(self, name: str) -> bool: ...

    @abstractmethod
    def _index(self, index: str, doc_id: str, document: dict, refresh: bool) -> None: ...

    @abstractmethod
    def _get(self, index: str, doc_id: str) -> dict | None: ...

    @abstractmethod
    def _search(self, indices: list[str], body: dict) -> dict: ...

    @abstractmethod
    def _delete_index(self, name: str) -> None: ...

    @abstractmethod
    def _list_indices(self, pattern: str) -> list[str]: ...

    @abstractmethod
    def _refresh(self, index: str) -> None: ...

    @abstractmethod
    def _info(self) -> dict: ...

    # -- the interface ------------------------------------------------------------------
    def ensure_index(self, name: str) -> None:
        """Create the index from the field registry unless it exists (safe under races)."""
        if name in self._known_indices:
            return
        if not self._index_exists(name):
            try:
                self._create_index(name, index_body(shards=self.shards,
                                                    replicas=self.replicas))
            except SearchError as exc:
                if "resource_already_exists" not in str(exc):
                    raise
        self._known_indices.add(name)

    def index_document(self, index: str, doc_id: str, document: dict, refresh: bool = False):
        """Index (or overwrite) a document, creating its index first if needed."""
        self.ensure_index(index)
        self._index(index, doc_id, document, refresh)

    def get_document(self, index: str, doc_id: str) -> dict | None:
        return self._get(index, doc_id)

    def search(self, indices: Iterable[str], body: Mapping) -> dict:
        """Run a query over existing indices (missing ones are skipped, not an error)."""
        indices = list(indices)
        if not indices:
            return {"hits": {"total": {"value": 0}, "hits": []}, "aggregations": {}}
        return self._search(indices, dict(body))

    def existing_indices(self) -> list[str]:
        """Our indices (names only, through the cheap cat API: the webapp asks per search)."""
        return sorted(n for n in self._list_indices(self.namer.wildcard) if self.namer.is_ours(n))

    def delete_index(self, name: str) -> None:
        self._known_indices.discard(name)
        self._delete_index(name)

    def refresh(self, index: str) -> None:
        self._refresh(index)

    def check(self) -> dict:
        """Engine name and version; raises :class:`SearchError` if it does not answer."""
        return self._info()


def _field_from_error(reason: str) -> str | None:
    """Pull the field name out of a mapper error, e.g. ``failed to parse field [uptime]``."""
    import re

    match = re.search(r"field \[([^\]]+)\]", reason)
    return match.group(1).removesuffix(".full") if match else None


class OpenSearchBackend(SearchBackend):
    def __init__(self, url: str, namer: IndexNamer, timeout: float = 30.0, **index_options):
        super().__init__(namer, **index_options)
        import opensearchpy

        self._lib = opensearchpy
        self.client = opensearchpy.OpenSearch(hosts=[url], timeout=timeout, max_retries=0)

    def _call(self, func, *args, **kwargs):
        lib = self._lib
        try:
            return func(*args, **kwargs)
        except lib.exceptions.RequestError as exc:  # HTTP 400
            reason = str(exc.info)
            if "resource_already_exists" in reason:
                raise SearchError(f"resource_already_exists: {reason}") from exc
            raise DocumentRejected(f"engine refused request: {reason}",
                                   _field_from_error(reason)) from exc
        except lib.exceptions.OpenSearchException as exc:
            raise SearchError(f"OpenSearch request failed: {exc}") from exc

    def _create_index(self, name, body):
        self._call(self.client.indices.create, index=name, body=body)

    def _index_exists(self, name):
        return bool(self._call(self.client.indices.exists, index=name))

    def _index(self, index, doc_id, document, refresh):
        self._call(self.client.index, index=index, id=doc_id, body=document,
                   refresh="true" if refresh else "false")

    def _get(self, index, doc_id):
        try:
            return self._call(self.client.get, index=index, id=doc_id)["_source"]
        except SearchError as exc:
            if isinstance(exc.__cause__, self._lib.exceptions.NotFoundError):
                return None
            raise

    def _search(self, indices, body):
        return self._call(self.client.search, index=",".join(indices), body=body,
                          ignore_unavailable=True, allow_no_indices=True)

    def _delete_index(self, name):
        self._call(self.client.indices.delete, index=name, ignore_unavailable=True)


    def _refresh(self, index):
        self._call(self.client.indices.refresh, index=index, ignore_unavailable=True)

    def _list_indices(self, pattern):
        rows = self._call(self.client.cat.indices, index=pattern, h="index", format="json")
        return [row["index"] for row in rows]

    def _info(self):
        info = self._call(self.client.info)
        return {"engine": "opensearch", "version": info["version"]["number"]}


class ElasticsearchBackend(SearchBackend):
    def __init__(self, url: str, namer: IndexNamer, timeout: float = 30.0, **index_options):
        super().__init__(namer, **index_options)
        import elasticsearch

        self._lib = elasticsearch
        self.client = elasticsearch.Elasticsearch(url, request_timeout=timeout, max_retries=0)

    def _call(self, func, *args, **kwargs):
        lib = self._lib
        try:
            return func(*args, **kwargs)
        except lib.BadRequestError as exc:  # HTTP 400
            reason = str(exc.body)
            if "resource_already_exists" in reason:
                raise SearchError(f"resource_already_exists: {reason}") from exc
            raise DocumentRejected(f"engine refused request: {reason}",
                                   _field_from_error(reason)) from exc
        except (lib.ApiError, lib.TransportError) as exc:
            raise SearchError(f"Elasticsearch request failed: {exc}") from exc

    def _create_index(self, name, body):
        self._call(self.client.indices.create, index=name, settings=body["settings"],
                   mappings=body["mappings"])

    def _index_exists(self, name):
        return bool(self._call(self.client.indices.exists, index=name))

    def _index(self, index, doc_id, document, refresh):
        self._call(self.client.index, index=index, id=doc_id, document=document,
                   refresh="true" if refresh else "false")

    def _get(self, index, doc_id):
        try:
            return self._call(self.client.get, index=index, id=doc_id)["_source"]
        except SearchError as exc:
            if isinstance(exc.__cause__, self._lib.NotFoundError):
                return None
            raise

    def _search(self, indices, body):
        response = self._call(self.client.search, index=",".join(indices), body=body,
                              ignore_unavailable=True, allow_no_indices=True)
        return response.body

    def _delete_index(self, name):
        self._call(self.client.indices.delete, index=name, ignore_unavailable=True)


    def _refresh(self, index):
        self._call(self.client.indices.refresh, index=index, ignore_unavailable=True)

    def _list_indices(self, pattern):
        rows = self._call(self.client.cat.indices, index=pattern, h="index", format="json")
        return [row["index"] for row in rows.body]

    def _info(self):
        info = self._call(self.client.info)
        return {"engine": "elasticsearch", "version": info["version"]["number"]}


def search_from_settings(
    settings: CommonSettings | None = None, url: str | None = None
) -> SearchBackend:
    settings = settings or get_settings()
    namer = IndexNamer(settings.search_index_template)
    url = url or settings.search_url
    backend = (ElasticsearchBackend if settings.search_engine is SearchEngine.ELASTICSEARCH
               else OpenSearchBackend)
    return backend(url, namer, settings.search_timeout, shards=settings.search_index_shards,
                   replicas=settings.search_index_replicas)
