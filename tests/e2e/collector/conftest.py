"""The black-box collector suite: HTTP only, against a collector process.

By default each session starts its own collector (``crashline-collector``: gunicorn on a free
port in 18000-18099, with the session's ``crashline_env``) and can then also look into its
storage and queue. With ``CRASHLINE_TEST_COLLECTOR_URL=http://127.0.0.1:8000`` the suite
talks to an already running collector (``make run``) instead and checks only what can be
observed over HTTP; tests that need more skip, saying why.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from harness.services import ServiceProcess, free_port

from crashline.common.settings import CommonSettings
from crashline.common.storage import CrashStorage, storage_from_settings

PORTS = range(18000, 18100)
STAGE_TOKEN = "e2e-stage-token"
BODY_TIMEOUT = 2.0
EXTERNAL_URL = os.environ.get("CRASHLINE_TEST_COLLECTOR_URL", "").rstrip("/")


@dataclass
class Collector:
    url: str
    storage: CrashStorage | None = None  # None: an external collector, HTTP only
    settings: CommonSettings | None = None
    service: ServiceProcess | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or 80

    @property
    def submit_url(self) -> str:
        return f"{self.url}/submit"

    @property
    def own(self) -> bool:
        return self.storage is not None

    def need_own(self, why: str) -> None:
        if not self.own:
            pytest.skip(f"{why}: only checked on a collector this suite starts itself")

    def log(self) -> str:
        return self.service.logs() if self.service else ""


def start_collector(env_vars: dict[str, str], log_path: Path, *, wait: bool = True,
                    timeout: float = 30.0) -> ServiceProcess:
    port = free_port(PORTS)
    # inherit_env: the caller's own CRASHLINE_* variables reach the collector too
    collector = ServiceProcess(
        "crashline-collector", {**env_vars, "CRASHLINE_COLLECTOR_BIND": f"127.0.0.1:{port}"},
        port, log_path, inherit_env=True)
    if wait:
        try:
            collector.wait_ready(timeout)
        except AssertionError:
            collector.stop(20)
            raise
    return collector


def _settings(env_vars: dict[str, str]) -> CommonSettings:
    return CommonSettings(**{k.removeprefix("CRASHLINE_").lower(): v
                             for k, v in env_vars.items() if k.startswith("CRASHLINE_")})


@pytest.fixture(scope="session")
def collector_env(crashline_env) -> dict[str, str]:
    return {**crashline_env,
            "CRASHLINE_COLLECTOR_WORKERS": "2",
            "CRASHLINE_COLLECTOR_BODY_TIMEOUT": str(BODY_TIMEOUT),
            "CRASHLINE_COLLECTOR_STAGE_SUBMITTER_TOKEN": STAGE_TOKEN,
            "CRASHLINE_COLLECTOR_RETRY_BACKOFF": "0.05"}


def _collector(env_vars, log_path) -> Iterator[Collector]:
    service = start_collector(env_vars, log_path)
    try:
        yield Collector(service.url, storage=storage_from_settings(_settings(env_vars)),
                        settings=_settings(env_vars), service=service)
    finally:
        service.stop(20)


@pytest.fixture(scope="session")
def collector(collector_env, tmp_path_factory) -> Iterator[Collector]:
    if EXTERNAL_URL:
        try:
            requests.get(f"{EXTERNAL_URL}/__lbheartbeat__", timeout=5)
        except requests.RequestException as exc:
            pytest.fail(f"no collector at {EXTERNAL_URL} ({exc}); start it with `make run`",
                        pytrace=False)
        yield Collector(EXTERNAL_URL)
        return
    yield from _collector(collector_env, tmp_path_factory.mktemp("collector") / "collector.log")


@pytest.fixture(scope="session")
def reference_collector(collector_env, tmp_path_factory) -> Iterator[Collector]:
    """A second collector with the reference collector's throttle rules."""
    if EXTERNAL_URL:
        pytest.skip("the reference rule set needs a collector started with those rules")
    from crashline.collector.settings import RULES_DIR

    env_vars = {**collector_env,
                "CRASHLINE_COLLECTOR_THROTTLE_RULES": str(RULES_DIR / "example_reference.toml")}
    yield from _collector(env_vars, tmp_path_factory.mktemp("reference") / "collector.log")


@pytest.fixture(scope="session")
def queue(collector, rabbitmq_client):
    collector.need_own("queue contents")
    return rabbitmq_client


@pytest.fixture
def spawn_collector():
    """``spawn_collector(env_vars, log_path, wait=...) -> (process, url)``, stopped at the end."""
    started = []

    def spawn(env_vars, log_path, **kwargs):
        service = start_collector(env_vars, log_path, **kwargs)
        started.append(service)
        return service.proc, service.url

    yield spawn
    for service in started:
        service.stop(20)
