"""Fault tests: a worker killed mid-crash, the search engine gone for a while, poison."""

from __future__ import annotations

import sys
import time
from urllib.parse import urlparse

import pytest
import requests
from harness.services import wait_for
from processor_support.minidump import build_minidump
from processor_support.proxy import TcpProxy
from processor_support.workers import stackwalker_path

from crashline.common.storage import keys

pytestmark = pytest.mark.integration

# Fields that differ between two runs over the same crash by design.
VOLATILE = {"started_datetime", "completed_datetime", "processor_notes", "processor_history"}


def stable(processed: dict) -> dict:
    return {k: v for k, v in processed.items() if k not in VOLATILE}


@pytest.fixture
def slow_stackwalker(tmp_path):
    """A stack walker that says when it started, then takes its time."""
    marker = tmp_path / "walking"
    script = tmp_path / "slow-stackwalk"
    script.write_text(f"""#!{sys.executable}
import os, sys, time
real = {stackwalker_path()!r}
if "--version" not in sys.argv:
    open({str(marker)!r}, "a").write("started\\n")
    time.sleep(60)
os.execv(real, [real] + sys.argv[1:])
""")
    script.chmod(0o755)
    return script, marker


def test_worker_killed_mid_crash_is_redelivered_and_processed_once_more(
        start_worker, submit, wait_processed, crash_storage, slow_stackwalker, rabbitmq_client):
    script, marker = slow_stackwalker
    doomed = start_worker(CRASHLINE_STACKWALKER_COMMAND=str(script))
    crash_id = submit(build_minidump())
    wait_for(marker.exists, 30, "the stack walker to start")
    doomed.kill()  # kill -9 while the crash is in hand: no ack, nothing saved
    assert not crash_storage.has_processed_crash(crash_id)

    survivor = start_worker()
    processed, document = wait_processed(crash_id, worker=survivor)
    assert processed["signature"] == "CrashHere"
    assert processed["mdsw_status_string"] == "OK"
    assert processed["processor_history"] == []  # the killed run left nothing behind
    assert document["signature"] == "CrashHere"

    # Replaying the crash (a redelivery after the saves) gives the same stored result.
    rabbitmq_client.publish(rabbitmq_client.names.standard, crash_id)
    wait_for(lambda: crash_storage.get_processed_crash(crash_id)["processor_history"], 30,
             "the replay")
    replayed = crash_storage.get_processed_crash(crash_id)
    assert stable(replayed) == stable(processed)
    assert replayed["processor_history"] == [processed["processor_notes"]]


def test_search_engine_down_for_a_while(start_worker, submit, wait_processed, crash_storage,
                                        settings, search_backend, rabbitmq_client):
    target = urlparse(settings.search_url)
    proxy = TcpProxy(target.hostname, target.port or 9200).start()
    try:
        worker = start_worker(CRASHLINE_SEARCH_URL=proxy.url,
                              CRASHLINE_PROCESSOR_MAX_ATTEMPTS="1000",
                              CRASHLINE_PROCESSOR_RETRY_BASE_DELAY="0.2",
                              CRASHLINE_PROCESSOR_RETRY_MAX_DELAY="1")
        wait_processed(submit(build_minidump()), worker=worker)  # works through the proxy

        proxy.down()
        waiting = [submit(build_minidump()) for _ in range(3)]
        wait_for(lambda: all(crash_storage.has_processed_crash(c) for c in waiting), 30,
                 "the crashes to reach storage")
        time.sleep(3)  # several retries' worth
        from crashline.processor.destinations import SearchDestination

        for crash_id in waiting:
            index = SearchDestination(search_backend).index_name(
                crash_storage.get_processed_crash(crash_id))
            assert search_backend.get_document(index, crash_id) is None
        assert requests.get(f"{worker.url}/__heartbeat__", timeout=60).status_code == 503
        assert rabbitmq_client.depth(rabbitmq_client.names.failed) == 0
        assert "retry" in worker.logs()

        proxy.up()
        for crash_id in waiting:
            processed, document = wait_processed(crash_id, timeout=30, worker=worker)
            assert document["signature"] == "CrashHere"
        assert rabbitmq_client.depth(rabbitmq_client.names.failed) == 0
        assert worker.stop() == 0
    finally:
        proxy.stop()


def test_database_down_past_the_attempts_goes_to_failed(start_worker, submit, settings,
                                                        rabbitmq_client, crash_storage):
    from crashline.common.failed import take_failed

    url = urlparse(settings.database_url)
    dead = url._replace(netloc=url.netloc.replace(f":{url.port}", ":1")).geturl()
    worker = start_worker(CRASHLINE_DATABASE_URL=dead, CRASHLINE_PROCESSOR_MAX_ATTEMPTS="2",
                          CRASHLINE_PROCESSOR_RETRY_BASE_DELAY="0.1")
    crash_id = submit(build_minidump())
    names = rabbitmq_client.names
    wait_for(lambda: rabbitmq_client.depth(names.failed) == 1, 60, "the failed queue")
    [failed] = take_failed(rabbitmq_client)
    try:
        assert failed.body == crash_id
        assert failed.attempts == 2
        assert "gave up after 2 attempts" in failed.reason and "DatabaseError" in failed.reason
        assert failed.queue == names.standard
    finally:
        rabbitmq_client.close()  # gives it back
    rabbitmq_client.channel.queue_purge(queue=names.failed)
    assert worker.proc.poll() is None


def test_poison_raw_crash_goes_to_failed_and_the_worker_goes_on(
        start_worker, submit, wait_processed, crash_storage, rabbitmq_client):
    from crashline.common.failed import take_failed

    worker = start_worker()
    poison = submit(build_minidump(), publish=False)
    # Corrupt its raw crash: the pipeline cannot even read it.
    crash_storage.store.put(keys.raw_crash_key(poison), b"{not json")
    rabbitmq_client.publish(rabbitmq_client.names.standard, poison)
    healthy = submit(build_minidump())
    wait_processed(healthy, worker=worker)
    names = rabbitmq_client.names
    wait_for(lambda: rabbitmq_client.depth(names.failed) == 1, 30, "the failed queue")
    [failed] = take_failed(rabbitmq_client)
    rabbitmq_client.close()
    rabbitmq_client.channel.queue_purge(queue=names.failed)
    assert failed.body == poison
    assert "JSONDecodeError" in failed.reason
    assert not crash_storage.has_processed_crash(poison)
    assert worker.proc.poll() is None
