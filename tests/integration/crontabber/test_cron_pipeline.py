"""verify-processed and the ledger over the whole pipeline: a real collector (gunicorn), a
``crashline-processor`` worker and the webapp, over the real RabbitMQ, search engine,
PostgreSQL and crash storage. The webapp's MissingProcessedCrash, Ledger and LedgerCrashes
endpoints are read over HTTP."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import requests
from crontabber_support import namespaced, settings_from_env
from harness import services
from harness.crashes import store_crash
from harness.services import ServiceProcess, free_port, wait_for
from processor_support.minidump import build_minidump, symbol_file

from crashline.collector.client import submit
from crashline.common.crashid import create_crash_id
from crashline.common.database import Database
from crashline.common.search import SearchError
from crashline.crontabber import metrics
from crashline.crontabber.job import Backends, JobContext
from crashline.crontabber.jobs import ledger, verify_processed

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

UTC = dt.UTC
HOUR = dt.timedelta(hours=1)


@pytest.fixture(scope="module")
def pipeline_env(cron_env, make_schema, tmp_path_factory) -> dict[str, str]:
    """A namespace of this module's own: what the ledger counts is only what it submits."""
    return namespaced(cron_env, "pipe", make_schema(),
                      str(tmp_path_factory.mktemp("pipeline-crashes")))


@pytest.fixture(scope="module")
def pipeline_settings(pipeline_env):
    return settings_from_env(pipeline_env)


@pytest.fixture(scope="module")
def pipeline_backends(pipeline_settings, search_backend, rabbitmq_client):
    db = Database(pipeline_settings.database_url)
    made = Backends(pipeline_settings, db)
    yield made
    queue = made.queue
    for name in queue.names.all:
        queue.channel.queue_delete(queue=name)
    for name in made.search.existing_indices():
        made.search.delete_index(name)
    made.close()
    db.close()


@pytest.fixture(scope="module")
def pipeline(pipeline_env, pipeline_backends, tmp_path_factory):
    """Collector, one processor worker and the webapp, in this module's namespace (the
    ledger needs crashes processed, not symbolicated: only the synthetic dumps' symbols)."""
    tmp = tmp_path_factory.mktemp("pipeline")
    symbols = tmp / "symbols"
    symbol_file(symbols)
    # documents searchable at once, so verify-processed and the ledger see them
    env = {**pipeline_env, "CRASHLINE_PROCESSOR_SEARCH_REFRESH": "true"}
    with services.pipeline(env, tmp, [str(symbols)]) as started:
        yield started


def api(pipeline, endpoint: str, **params) -> requests.Response:
    return requests.get(f"{pipeline['webapp'].url}/api/{endpoint}/", params=params, timeout=30)


def processed_and_indexed(backends: Backends, crash_id: str) -> bool:
    from crashline.crontabber.crashes import indexed_among

    search = backends.search
    if not backends.storage.has_processed_crash(crash_id):
        return False
    try:
        return bool(indexed_among(search, search.existing_indices(), [crash_id]))
    except SearchError:  # the index the worker just created is still starting
        return False


def delete_document(backends: Backends, crash_id: str) -> bool:
    """Delete a crash's search documents, as if the engine had lost them; whether any was."""
    search = backends.search
    deleted = False
    for index in search.existing_indices():
        try:
            search.client.delete(index=index, id=crash_id, refresh=True)
            deleted = True
        except search.engine.not_found:
            pass
    return deleted


def forget(backends: Backends, crash_ids) -> None:
    for crash_id in crash_ids:
        backends.storage.delete_crash(crash_id)
        delete_document(backends, crash_id)


def wait_all_processed(backends: Backends, crash_ids, pipeline, timeout=120) -> None:
    def done():
        if pipeline["processor"].proc.poll() is not None:
            raise AssertionError(f"the processor died:\n{pipeline['processor'].logs()}")
        return all(processed_and_indexed(backends, cid) for cid in crash_ids)

    wait_for(done, timeout, f"{len(crash_ids)} crashes to be processed and indexed")


# -- verify-processed ---------------------------------------------------------------------------
def test_stored_but_never_queued_crashes_are_found_then_processed_then_marked(
        pipeline, pipeline_settings, pipeline_backends):
    storage = pipeline_backends.storage
    now = dt.datetime.now(UTC)
    yesterday = (now - dt.timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    # stored the way the collector stores, but never queued (a publish that failed and a
    # pending record that was never written)
    lost = []
    for n in range(3):
        crash_id = create_crash_id(yesterday + n * dt.timedelta(minutes=7))
        store_crash(storage, crash_id, {
            "ProductName": "Verify", "Version": "1.0", "uuid": crash_id,
            "submitted_timestamp": (yesterday + n * dt.timedelta(minutes=7)).isoformat()},
            {"upload_file_minidump": build_minidump()})
        lost.append(crash_id)
    slot = now.replace(hour=4, minute=0, second=0, microsecond=0)
    try:
        check_verify_processed(pipeline, pipeline_settings, pipeline_backends, lost, slot)
    finally:  # stored without receipts: the ledger test would count them
        forget(pipeline_backends, lost)


def check_verify_processed(pipeline, pipeline_settings, pipeline_backends, lost, slot):
    found = verify_processed.run(JobContext(pipeline_settings, pipeline_backends, slot))
    assert found["missing"] == 3 and found["checked"] == 3
    missing = api(pipeline, "MissingProcessedCrash", is_processed="false").json()
    assert missing["count"] == 3 and missing["next"] is None and missing["previous"] is None
    assert {r["crash_id"] for r in missing["results"]} == set(lost)
    assert all(r["missing"] == ["processed", "indexed"] for r in missing["results"])

    # queued for reprocessing, so the processor takes them
    wait_all_processed(pipeline_backends, lost, pipeline)

    later = verify_processed.run(JobContext(pipeline_settings, pipeline_backends,
                                            slot + dt.timedelta(days=1)))
    assert later["found_again"] == 3 and later["missing"] == 0 and later["open"] == 0
    done = api(pipeline, "MissingProcessedCrash", is_processed="true").json()
    assert {r["crash_id"] for r in done["results"]} == set(lost)
    assert all(r["is_processed"] for r in done["results"])
    assert api(pipeline, "MissingProcessedCrash", is_processed="false").json()["count"] == 0
    assert api(pipeline, "MissingProcessedCrash").json()["count"] == 3
    bad = api(pipeline, "MissingProcessedCrash", page="0")
    assert bad.status_code == 400 and "page" in bad.json()["errors"]


# -- the ledger ---------------------------------------------------------------------------------
def count_hours(settings, backends, hours) -> dict[dt.datetime, dict]:
    """Run the ledger as if at the end of the last of ``hours``; their rows."""
    slot = max(hours) + HOUR
    ledger.run(JobContext(settings, backends, slot))
    with backends.db.transaction() as cur:
        cur.execute("SELECT * FROM ledger_hours WHERE hour = ANY(%s)", (list(hours),))
        return {row["hour"]: row for row in cur.fetchall()}


def hour_of(when: dt.datetime) -> dt.datetime:
    return when.replace(minute=0, second=0, microsecond=0)


def test_the_ledger_balances_then_names_a_crash_missing_from_the_index(
        pipeline, pipeline_settings, pipeline_backends, corpus):
    dumps = sorted((corpus / "minidumps").glob("*.dmp"))
    assert dumps, f"no minidumps in {corpus}"
    first_hour = hour_of(dt.datetime.now(UTC))
    crash_ids = []
    for n, dump in enumerate(dumps):
        result = submit(f"{pipeline['collector'].url}/submit",
                        {"ProductName": "Ledger", "Version": f"1.{n}"},
                        {"upload_file_minidump": Path(dump).read_bytes()})
        assert result.crash_id, result
        crash_ids.append(result.crash_id)
    last_hour = hour_of(dt.datetime.now(UTC))
    hours = sorted({first_hour, last_hour})  # the submissions may straddle an hour
    wait_all_processed(pipeline_backends, crash_ids, pipeline)
    storage = pipeline_backends.storage
    wait_for(lambda: {cid for h in hours for cid in storage.list_receipts(h)} == set(crash_ids),
             30, "the collector's receipts")  # written out about every second

    rows = count_hours(pipeline_settings, pipeline_backends, hours)
    assert all(rows[h]["balanced"] for h in hours), rows
    for stage in ("received", "stored", "processed", "indexed"):
        assert sum(rows[h][stage] for h in hours) == len(dumps), (stage, rows)
    assert sum(rows[h]["deferred"] for h in hours) == 0
    body = api(pipeline, "Ledger", start=first_hour.isoformat(),
               end=(last_hour + HOUR).isoformat()).json()
    assert body["balanced"] and body["total"] == len(hours)
    assert all(h["differences"] == {} for h in body["hours"])

    # one crash vanishes from the search engine
    gone = crash_ids[0]
    assert delete_document(pipeline_backends, gone)

    rows = count_hours(pipeline_settings, pipeline_backends, hours)
    assert not all(rows[h]["balanced"] for h in hours)
    assert sum(rows[h]["indexed"] for h in hours) == len(dumps) - 1
    assert sum(rows[h]["differences"]["processed_not_indexed"] for h in hours) == 1
    assert metrics.LEDGER_DIFFERENCES.labels("processed_not_indexed")._value.get() == 1
    assert metrics.LEDGER_UNBALANCED._value.get() == 1

    body = api(pipeline, "Ledger", start=first_hour.isoformat(),
               end=(last_hour + HOUR).isoformat(), unbalanced="true").json()
    assert not body["balanced"]
    [hour] = body["hours"]
    assert hour["differences"] == {"processed_not_indexed": {
        "count": 1, "crash_ids": [gone], "more": None}}
    crashes = api(pipeline, "LedgerCrashes", hour=hour["hour"], kind="processed_not_indexed")
    assert crashes.json()["crash_ids"] == [gone] and crashes.json()["count"] == 1
    assert api(pipeline, "LedgerCrashes", hour=hour["hour"], kind="lost").status_code == 400
    assert api(pipeline, "Ledger", start="2020-01-01T00:00:00Z").status_code == 400

    # reprocessed, it is indexed again and the hour balances again
    queue = pipeline_backends.queue
    queue.publish(queue.names.reprocessing, gone)
    wait_all_processed(pipeline_backends, [gone], pipeline)
    rows = count_hours(pipeline_settings, pipeline_backends, hours)
    assert all(rows[h]["balanced"] for h in hours), rows


def test_a_stopping_collector_writes_its_last_receipts(pipeline_env, pipeline_backends,
                                                       tmp_path):
    port = free_port(range(19250, 19300))
    collector = ServiceProcess("crashline-collector", {
        **pipeline_env, "CRASHLINE_COLLECTOR_BIND": f"127.0.0.1:{port}",
        "CRASHLINE_COLLECTOR_WORKERS": "1", "CRASHLINE_COLLECTOR_RECEIPT_INTERVAL": "3600"},
        port, tmp_path / "collector.log").wait_ready()
    try:
        result = submit(f"{collector.url}/submit", {"ProductName": "Receipt"},
                        {"upload_file_minidump": build_minidump()})
        assert result.crash_id, result
        hour = hour_of(dt.datetime.now(UTC))
    finally:
        assert collector.stop() == 0, collector.logs()
    storage = pipeline_backends.storage
    received = {cid for h in (hour - HOUR, hour) for cid in storage.list_receipts(h)}
    assert result.crash_id in received, collector.logs()
    forget(pipeline_backends, [result.crash_id])
