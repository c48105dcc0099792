"""Fixtures for the processor's integration tests: real RabbitMQ, OpenSearch, PostgreSQL and
crash storage, and real ``crashline-processor`` worker processes started per test."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from harness.crashes import store_crash
from harness.services import ServiceProcess, free_port, wait_for
from harness.shared import CORPUS
from processor_support.workers import METRICS_PORTS, stackwalker_path

from crashline.common.crashid import create_crash_id
from crashline.common.storage import storage_from_settings


@pytest.fixture(scope="session")
def symbols_dir(tmp_path_factory) -> Path:
    """Breakpad symbols of the synthetic minidumps (plus the corpus's, when present)."""
    from processor_support.minidump import symbol_file

    folder = tmp_path_factory.mktemp("symbols")
    symbol_file(folder)
    return folder


@pytest.fixture
def worker_env(crashline_env, symbols_dir, database, search_backend, rabbitmq_client,
               tmp_path) -> dict[str, str]:
    """Environment of a worker of this test session (services checked up)."""
    corpus_symbols = CORPUS / "symbols"
    dirs = [str(symbols_dir)] + ([str(corpus_symbols)] if corpus_symbols.is_dir() else [])
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRASHLINE_")}
    env.update(crashline_env)
    env.update({
        "CRASHLINE_SYMBOLS_DIRS": ",".join(dirs),
        "CRASHLINE_SYMBOLS_CACHE_DIR": str(tmp_path / "symbols-cache"),
        "CRASHLINE_STACKWALKER_COMMAND": stackwalker_path(),
        "CRASHLINE_PROCESSOR_WORKERS": "2",
        "CRASHLINE_PROCESSOR_IDLE_DELAY": "0.1",
        "CRASHLINE_PROCESSOR_RETRY_BASE_DELAY": "0.2",
        "CRASHLINE_PROCESSOR_RETRY_MAX_DELAY": "1",
        "CRASHLINE_PROCESSOR_MAX_ATTEMPTS": "3",
        "CRASHLINE_LOG_LEVEL": "INFO",
    })
    return env


@pytest.fixture
def start_worker(worker_env, tmp_path) -> Callable[..., ServiceProcess]:
    workers: list[ServiceProcess] = []

    def start(**overrides: str) -> ServiceProcess:
        port = free_port(METRICS_PORTS)
        env = {**worker_env, "CRASHLINE_METRICS_PORT": str(port), **overrides}
        worker = ServiceProcess("crashline-processor", env, port,
                                tmp_path / f"worker-{len(workers)}.log")
        workers.append(worker)
        worker.wait_ready(30)
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def crash_storage(settings):
    return storage_from_settings(settings)


@pytest.fixture
def submit(crash_storage, rabbitmq_client) -> Callable[..., str]:
    """Store a raw crash the way the collector does, then publish its id."""

    def submit(dump: bytes | None, annotations: dict | None = None, *, queue: str = "standard",
               ruleset: str | None = None, crash_id: str | None = None,
               extra_dumps: dict[str, bytes] | None = None, publish: bool = True) -> str:
        now = dt.datetime.now(dt.UTC)
        crash_id = crash_id or create_crash_id(now)
        raw = {"ProductName": "Crashy", "Version": "1.0", "ReleaseChannel": "nightly",
               "BuildID": "20250101000000", **(annotations or {}),
               "submitted_timestamp": now.isoformat(), "uuid": crash_id, "version": 2,
               "metadata": {"payload": "multipart", "collector_notes": []}}
        dumps = {} if dump is None else {"upload_file_minidump": dump}
        dumps.update(extra_dumps or {})
        store_crash(crash_storage, crash_id, raw, dumps)
        body = f"{crash_id}:{ruleset}" if ruleset else crash_id
        if publish:
            rabbitmq_client.publish(getattr(rabbitmq_client.names, queue), body)
        return crash_id

    return submit


@pytest.fixture
def wait_processed(crash_storage, search_backend):
    """Wait until a crash is in storage and in its search index; return both. With the
    ``worker`` that processes it, also until that worker holds no crash any more: search and
    PostgreSQL are written side by side, so a search document does not mean the database
    has the crash yet; an empty worker does (it acks only after every store)."""

    def wait(crash_id: str, timeout: float = 30, worker: ServiceProcess | None = None):
        from crashline.common.search import SearchError
        from crashline.processor.destinations import SearchDestination

        def idle() -> bool:
            health = requests.get(f"{worker.url}/__lbheartbeat__", timeout=5).json()
            return health["in_flight"] == 0

        def stored():
            if worker is not None and worker.proc.poll() is not None:
                raise AssertionError(f"worker died:\n{worker.logs()}")
            if not crash_storage.has_processed_crash(crash_id):
                return None
            processed = crash_storage.get_processed_crash(crash_id)
            index = SearchDestination(search_backend).index_name(processed)
            try:
                document = search_backend.get_document(index, crash_id)
            except SearchError:  # e.g. the index the worker just created is still starting
                return None
            if not document or (worker is not None and not idle()):
                return None
            return processed, document

        return wait_for(stored, timeout, f"crash {crash_id} to be processed")

    return wait
