"""Which engine answers, and waiting for it at start-up (pure logic; the contract suite in
tests/integration/common/test_search.py runs the backend against every real engine)."""

from __future__ import annotations

import pytest

from crashline.common.search.client import (
    ENGINES,
    SearchBackend,
    SearchError,
    WrongEngine,
    _engine_of,
)
from crashline.common.search.indices import IndexNamer
from crashline.common.settings import SearchEngine

ES_NODES = {"nodes": {"a": {"version": "8.19.21", "build_flavor": "default"}}}
OS_NODES = {"nodes": {"b": {"version": "3.8.0"}}}


@pytest.mark.parametrize(("headers", "nodes", "expected"), [
    ({"X-elastic-product": "Elasticsearch"}, ES_NODES, ("Elasticsearch", "8.19.21")),
    ({"x-elastic-product": "Elasticsearch"}, {"nodes": {"a": {"version": "9.5.4"}}},
     ("Elasticsearch", "9.5.4")),
    ({"X-OpenSearch-Version": "OpenSearch/3.8.0 (opensearch)"}, OS_NODES,
     ("OpenSearch", "3.8.0")),
    # no telling header (a proxy dropped it): Elasticsearch always has a build flavor
    ({}, ES_NODES, ("Elasticsearch", "8.19.21")),
    ({}, OS_NODES, ("OpenSearch", "3.8.0")),
])
def test_engine_is_recognised(headers, nodes, expected):
    assert _engine_of(headers, nodes) == expected


class Scripted(SearchBackend):
    """A backend whose check() answers from a script, to drive wait_until_ready."""

    def __init__(self, answers):
        self.engine = ENGINES[SearchEngine.ELASTICSEARCH]()
        self.url = "http://engine:9200"
        self.namer = IndexNamer()
        self.answers = list(answers)
        self.calls = 0

    def check(self):
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_waits_until_the_engine_answers():
    backend = Scripted([SearchError("refused"), SearchError("refused"),
                        {"engine": "elasticsearch", "version": "8.19.21"}])
    slept = []
    info = backend.wait_until_ready(timeout=60, interval=2, sleep=slept.append)
    assert info["version"] == "8.19.21"
    assert slept == [2, 2]


def test_the_wrong_engine_fails_at_once():
    backend = Scripted([WrongEngine("the server is OpenSearch 3.8.0, not Elasticsearch")])
    with pytest.raises(WrongEngine, match="not Elasticsearch"):
        backend.wait_until_ready(timeout=60, sleep=lambda s: pytest.fail("must not wait"))
    assert backend.calls == 1


def test_gives_up_after_the_timeout_naming_the_engine(monkeypatch):
    backend = Scripted([SearchError("refused")] * 100)
    clock = iter(range(1000))
    monkeypatch.setattr("crashline.common.search.client.time.monotonic", lambda: next(clock))
    with pytest.raises(SearchError, match="did not answer within 5s: refused"):
        backend.wait_until_ready(timeout=5, interval=1, sleep=lambda s: None)
    assert 3 <= backend.calls <= 6
