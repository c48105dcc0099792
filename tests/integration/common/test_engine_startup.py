"""The processor and the webapp refuse to start on a search engine that is down or is the
wrong product, and say why: they never start half-working."""

from __future__ import annotations

import socket

import pytest
from harness.services import ServiceProcess, free_port

from crashline.common.settings import SearchEngine

pytestmark = pytest.mark.integration

PORTS = range(19600, 19700)


def closed_port() -> int:
    with socket.socket() as s:  # bound, never listening: connections are refused
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(script, crashline_env, tmp_path, **env) -> ServiceProcess:
    port = free_port(PORTS)
    return ServiceProcess(script, {
        **crashline_env, "CRASHLINE_METRICS_PORT": str(port),
        "CRASHLINE_WEBAPP_BIND": f"127.0.0.1:{port}", **env,
    }, port, tmp_path / f"{script}.log")


def other_product(settings) -> str:
    return (SearchEngine.OPENSEARCH if settings.search_engine is SearchEngine.ELASTICSEARCH
            else SearchEngine.ELASTICSEARCH).value


@pytest.mark.parametrize("script", ["crashline-processor", "crashline-webapp"])
def test_the_wrong_product_stops_the_start_at_once(script, settings, crashline_env,
                                                   tmp_path, search_backend):
    product = search_backend.engine.product
    # a client for the other product, pointed at this engine, with all the time in the world
    service = start(script, crashline_env, tmp_path,
                    CRASHLINE_SEARCH_ENGINE=other_product(settings),
                    CRASHLINE_SEARCH_STARTUP_TIMEOUT="600")
    assert service.proc.wait(60) == 2
    assert (f"the search engine does not work: the server at {settings.search_url} is "
            f"{product}") in service.logs()


@pytest.mark.parametrize("script", ["crashline-processor", "crashline-webapp"])
def test_an_engine_that_does_not_answer_stops_the_start(script, crashline_env, tmp_path):
    url = f"http://127.0.0.1:{closed_port()}"
    service = start(script, crashline_env, tmp_path, CRASHLINE_SEARCH_URL=url,
                    CRASHLINE_SEARCH_STARTUP_TIMEOUT="2")
    assert service.proc.wait(60) == 2
    assert f"at {url} did not answer within 2s" in service.logs()
