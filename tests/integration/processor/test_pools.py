"""The processor's connection pools hold as many connections as its threads use at once:
no thread waits for another's connection, and none is opened only to be thrown away."""

from __future__ import annotations

import logging
import threading
import uuid
from urllib.parse import urlparse

import pytest
from processor_support.proxy import TcpProxy

from crashline.common.crashid import create_crash_id
from crashline.processor.app import build_processor
from crashline.processor.destinations import DatabaseDestination, SearchDestination
from crashline.processor.settings import ProcessorSettings

pytestmark = pytest.mark.integration

# More than any client library's default pool: search 10, PostgreSQL 8, S3 (botocore) 32.
WORKERS = 34


def test_pools_fit_the_worker_threads(crashline_env, settings, database, engine_url, caplog):
    engine, url = engine_url  # every engine of the run (tests/conftest.py)
    target = urlparse(url or settings.search_url)
    # Requests pass only once every thread has a connection of its own; a client that
    # makes threads wait for a pooled connection never gets there (the proxy gives up
    # after a while) and opens fewer.
    proxy = TcpProxy(target.hostname, target.port, hold_until=WORKERS).start()
    env = {k.removeprefix("CRASHLINE_").lower(): v for k, v in crashline_env.items()}
    settings = ProcessorSettings(**{
        **env, "storage_backend": "s3", "processor_workers": WORKERS,
        "search_engine": engine, "search_url": proxy.url,
        "search_index_template": f"{env['queue_prefix']}-{uuid.uuid4().hex[:6]}-%Y%W"})
    app = build_processor(settings, with_metrics=False)
    storage = app.processor.storage
    [search] = [d.search for d in app.processor.destinations if isinstance(d, SearchDestination)]
    [database] = [d.database for d in app.processor.destinations
                  if isinstance(d, DatabaseDestination)]
    index = search.namer.wildcard.replace("*", "000000")  # no such index: a cheap 404
    barrier = threading.Barrier(WORKERS)
    # Storage has more users at once: the workers read crashes while the saver and its pool
    # (one thread per worker) write a batch.
    storage_users = 2 * WORKERS + 1
    storage_barrier = threading.Barrier(storage_users)
    errors: list[BaseException] = []

    def use_storage() -> None:
        crash_id = create_crash_id()
        try:
            for _ in range(3):  # every thread at once, in each round
                storage_barrier.wait()
                storage.put_raw_crash(crash_id, {"uuid": crash_id})
        except Exception as exc:  # collected for the assertion below
            errors.append(exc)
            storage_barrier.abort()

    def work() -> None:
        crash_id = create_crash_id()
        try:
            for _ in range(3):  # every thread at once, in each round
                barrier.wait()
                assert search.get_document(index, crash_id) is None
                barrier.wait()
                with database.transaction() as cur:
                    cur.execute("SELECT pg_sleep(0.05)")
        except Exception as exc:  # collected for the assertion below
            errors.append(exc)
            barrier.abort()

    caplog.set_level(logging.WARNING, logger="urllib3")
    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    threads += [threading.Thread(target=use_storage) for _ in range(storage_users)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        database.close()
        proxy.stop()
    assert errors == []
    assert proxy.opened == WORKERS  # one each, then kept for the next rounds
    discarded = [r.getMessage() for r in caplog.records if "pool is full" in r.getMessage()]
    assert discarded == []
