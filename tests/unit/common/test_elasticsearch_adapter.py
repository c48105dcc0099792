"""The Elasticsearch 8 backend, against a recording HTTP stub.

No Elasticsearch 8 server can be installed here, so this unit test pins what the adapter
sends through the real `elasticsearch` 8.x client: the same JSON DSL as the OpenSearch
backend, on the same paths. The full contract suite (tests/integration/common/test_search.py)
runs against a real Elasticsearch wherever CRASHLINE_TEST_ELASTICSEARCH_URL is set.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crashline.common.search.client import DocumentRejected, ElasticsearchBackend
from crashline.common.search.indices import IndexNamer


class StubElasticsearch(BaseHTTPRequestHandler):
    requests: list[tuple[str, str, object]] = []
    responses: dict[tuple[str, str], tuple[int, object]] = {}

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        path = self.path.split("?")[0]
        self.requests.append((self.command, self.path, body))
        status, payload = self.responses.get((self.command, path), (200, {}))
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Type", "application/vnd.elasticsearch+json; compatible-with=8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    def log_message(self, *args):
        pass


@pytest.fixture
def stub():
    StubElasticsearch.requests = []
    StubElasticsearch.responses = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubElasticsearch)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, StubElasticsearch
    server.shutdown()


@pytest.fixture
def backend(stub):
    server, _ = stub
    return ElasticsearchBackend(f"http://127.0.0.1:{server.server_port}", IndexNamer())


def test_index_document_creates_the_index_from_the_registry_first(backend, stub):
    _, handler = stub
    handler.responses[("HEAD", "/crashline-202637")] = (404, {})
    backend.index_document("crashline-202637", "abc", {"crash_id": "abc", "signature": "s"})
    methods = [(m, p.split("?")[0]) for m, p, _ in handler.requests]
    assert methods == [("HEAD", "/crashline-202637"), ("PUT", "/crashline-202637"),
                       ("PUT", "/crashline-202637/_doc/abc")]
    create_body = handler.requests[1][2]
    assert create_body["mappings"]["properties"]["signature"]["type"] == "keyword"
    assert create_body["settings"]["index"]["number_of_replicas"] == 0
    assert handler.requests[2][2] == {"crash_id": "abc", "signature": "s"}


def test_search_sends_the_shared_dsl(backend, stub):
    _, handler = stub
    handler.responses[("POST", "/a,b/_search")] = (
        200, {"hits": {"total": {"value": 1}, "hits": [{"_source": {"signature": "s"}}]}})
    query = {"query": {"term": {"product": "Fennec"}}, "size": 5,
             "aggs": {"s": {"terms": {"field": "signature"}}}}
    result = backend.search(["a", "b"], query)
    assert result["hits"]["total"]["value"] == 1
    method, path, body = handler.requests[-1]
    assert method == "POST" and path.startswith("/a,b/_search")
    assert "ignore_unavailable=true" in path
    assert body == query


def test_get_returns_source_or_none(backend, stub):
    _, handler = stub
    handler.responses[("GET", "/i/_doc/yes")] = (200, {"_source": {"crash_id": "yes"},
                                                      "found": True})
    handler.responses[("GET", "/i/_doc/no")] = (404, {"found": False})
    assert backend.get_document("i", "yes") == {"crash_id": "yes"}
    assert backend.get_document("i", "no") is None


def test_a_rejected_field_is_named(backend, stub):
    _, handler = stub
    backend._known_indices.add("i")
    handler.responses[("PUT", "/i/_doc/x")] = (400, {"error": {
        "type": "document_parsing_exception",
        "reason": "[1:10] failed to parse field [uptime] of type [long]"}, "status": 400})
    with pytest.raises(DocumentRejected) as info:
        backend.index_document("i", "x", {"uptime": "abc"})
    assert info.value.field == "uptime"


def test_index_shape_comes_from_settings(stub):
    from crashline.common.search import search_from_settings
    from crashline.common.settings import CommonSettings, SearchEngine

    server, handler = stub
    handler.responses[("HEAD", "/crashline-202637")] = (404, {})
    backend = search_from_settings(CommonSettings(
        search_engine=SearchEngine.ELASTICSEARCH, search_index_shards=3,
        search_index_replicas=2, search_url=f"http://127.0.0.1:{server.server_port}"))
    backend.ensure_index("crashline-202637")
    create = [body for method, path, body in handler.requests if method == "PUT"][0]
    assert create["settings"]["index"]["number_of_shards"] == 3
    assert create["settings"]["index"]["number_of_replicas"] == 2
