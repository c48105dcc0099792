"""Hostile input to the processor: ``CRASHLINE_HOSTILE_DUMPS`` crashes (hostile_dumps.py; 60
in ``make test``, 2,000 in ``make test-hostile``) with corrupt, truncated and adversarial
minidumps, and stack-walker output that is deeply nested, huge, malformed, late or endless,
through one ``crashline-processor`` on the test stack; each crash also carries one set of
hostile annotation values (out of range, wrong types, huge, lone surrogates, NULs).

No worker may die: the process stays up, no thread dies of an exception, and valid crashes
sent after all the hostile ones are processed. Every hostile crash is processed (stored and
indexed), with notes where its walk went wrong, or is in the failed queue with a reason.
The walker's limits are shortened (5 s, 64 MiB of output) so the slow and endless kinds
take seconds. A protected annotation every crash carries never reaches the processor's log,
the failed queue's reasons or the crash's (public) processor notes.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import Counter, defaultdict

import pytest
from harness.bench import corpus_dumps
from harness.crashes import store_crash
from harness.services import ServiceProcess, free_port, wait_for
from hostile_dumps import (
    HOSTILE_ANNOTATIONS,
    OUT_OF_RANGE_NOTE,
    WALKER_KINDS,
    hostile_dumps,
    write_walker,
)
from processor_support.minidump import build_minidump, symbol_file
from processor_support.workers import METRICS_PORTS, stackwalker_path
from sizes import size

from crashline.common.crashid import create_crash_id
from crashline.common.failed import take_failed
from crashline.common.search import SearchError
from crashline.common.storage import storage_from_settings
from crashline.crontabber.crashes import existing, indexed_among

pytestmark = pytest.mark.integration

DUMPS = int(size("HOSTILE_DUMPS", 60))
WORKERS = 2
SECRET = f"https://example.com/?session=hostile-secret-{uuid.uuid4().hex}"
# The walks that go wrong must say so in the crash's notes.
WALKER_FAILURES = {"not_json", "truncated", "not_object", "exit_1", "killed", "slow",
                   "too_much", "empty", "deep", "deep_object"}


@pytest.fixture
def processor(crashline_env, database, search_backend, rabbitmq_client, tmp_path):
    symbols = tmp_path / "symbols"
    symbol_file(symbols)
    walker = write_walker(tmp_path / "hostile-stackwalk", stackwalker_path())
    port = free_port(METRICS_PORTS)
    service = ServiceProcess("crashline-processor", {
        **crashline_env, "CRASHLINE_METRICS_PORT": str(port),
        "CRASHLINE_SYMBOLS_DIRS": str(symbols),
        "CRASHLINE_SYMBOLS_CACHE_DIR": str(tmp_path / "symbols-cache"),
        "CRASHLINE_STACKWALKER_COMMAND": str(walker),
        "CRASHLINE_STACKWALKER_TIMEOUT": "5", "CRASHLINE_STACKWALKER_MAX_OUTPUT_MB": "64",
        "CRASHLINE_PROCESSOR_WORKERS": str(WORKERS), "CRASHLINE_PROCESSOR_MAX_ATTEMPTS": "3",
        "CRASHLINE_PROCESSOR_RETRY_BASE_DELAY": "0.5", "CRASHLINE_PROCESSOR_RETRY_MAX_DELAY": "2",
        "CRASHLINE_PROCESSOR_IDLE_DELAY": "0.1"}, port, tmp_path / "processor.log")
    try:
        yield service.wait_ready(60)
    finally:
        service.stop()


def submit(storage, queue, dump: bytes, kind: str, annotations: dict | None = None) -> str:
    now = dt.datetime.now(dt.UTC)
    crash_id = create_crash_id(now)
    raw = {"ProductName": "Hostile", "Version": "1.0", "BuildID": "20250101000000",
           "HostileKind": kind, **(annotations or {}), "URL": SECRET,
           "submitted_timestamp": now.isoformat(), "uuid": crash_id, "version": 2,
           "metadata": {"collector_notes": []}}
    store_crash(storage, crash_id, raw, {"upload_file_minidump": dump})
    queue.publish(queue.names.standard, crash_id)
    return crash_id


@pytest.mark.timeout(int(900 + DUMPS * 3))
def test_no_dump_or_walker_output_breaks_a_worker(processor, settings, rabbitmq_client,
                                                  search_backend, figures):
    storage = storage_from_settings(settings)
    corpus = [data for _, data in corpus_dumps()]
    begun = time.monotonic()
    annotation_sets = list(HOSTILE_ANNOTATIONS.items())
    kinds: dict[str, str] = {}
    annotated: dict[str, str] = {}  # crash id -> the name of its hostile annotations
    for i, (kind, dump) in enumerate(hostile_dumps(DUMPS, corpus)):
        name, annotations = annotation_sets[i % len(annotation_sets)]
        crash_id = submit(storage, rabbitmq_client, dump, kind, annotations)
        kinds[crash_id] = kind
        annotated[crash_id] = name
    failed: dict[str, str] = {}

    def settled() -> bool:
        """Every crash indexed (the last store written) or failed."""
        assert processor.proc.poll() is None, processor.logs()[-5000:]
        try:
            done = indexed_among(search_backend, search_backend.existing_indices(), kinds)
        except SearchError:  # a weekly index just made, its shard not ready yet
            return False
        if rabbitmq_client.depth(rabbitmq_client.names.failed) + len(done) < len(kinds):
            return False
        failed.update({f.message.crash_id: f.reason for f in take_failed(rabbitmq_client)})
        rabbitmq_client.close()  # gives them back
        return len(done | set(failed)) == len(kinds)

    wait_for(settled, 600 + DUMPS * 2, "every hostile crash processed or failed")
    seconds = time.monotonic() - begun

    # Every worker still works: valid crashes after all of that are processed.
    good = [submit(storage, rabbitmq_client, build_minidump(), "valid")
            for _ in range(2 * WORKERS)]
    wait_for(lambda: existing(storage.has_processed_crash, good, 16) == set(good), 120,
             "the valid crashes after the hostile ones")
    assert {storage.get_processed_crash(c)["signature"] for c in good} == {"CrashHere"}

    processed = existing(storage.has_processed_crash, kinds, 16)
    indexed = indexed_among(search_backend, search_backend.existing_indices(), processed)
    outcomes: dict[str, Counter] = defaultdict(Counter)
    silent: list[str] = []  # broken walks without a note
    undated: list[str] = []  # a client time past any date, without its note
    for crash_id, kind in kinds.items():
        annotations = f"annotations: {annotated[crash_id]}"
        if crash_id in failed:
            for what in (kind, annotations):
                outcomes[what][f"failed: {failed[crash_id][:80]}"] += 1
            continue
        notes = storage.get_processed_crash(crash_id).get("processor_notes") or []
        assert SECRET not in str(notes)
        for what in (kind, annotations):
            outcomes[what]["processed with notes" if notes else "processed"] += 1
        if not notes and kind.removeprefix("walker output: ") in WALKER_FAILURES:
            silent.append(f"{crash_id} ({kind})")
        if annotated[crash_id] == "times past any date" and OUT_OF_RANGE_NOTE not in notes:
            undated.append(crash_id)
    lines = [f"{len(kinds)} hostile crashes through {WORKERS} workers in {seconds:.0f}s: "
             f"{len(processed)} processed ({len(indexed)} indexed), {len(failed)} failed"]
    lines += [f"  processed, not indexed: {kinds[c]} {c}" for c in processed - indexed]
    lines += [f"  {kind}: {dict(c)}" for kind, c in sorted(outcomes.items())]
    figures("hostile crashes for the processor", lines)
    report = "\n".join(lines)

    logs = processor.logs()
    assert processor.proc.poll() is None, report
    assert "Exception in thread" not in logs, report  # no worker thread died
    assert SECRET not in logs and SECRET not in str(failed)
    assert all(reason.strip() for reason in failed.values()), report
    assert processed | set(failed) == set(kinds), report
    assert indexed == processed, report  # processed means stored and indexed
    assert not silent, f"walks that went wrong without a note: {silent}\n{report}"
    assert not undated, f"client times past any date without a note: {undated}\n{report}"
    assert set(annotated.values()) == set(HOSTILE_ANNOTATIONS), report
    assert {k.removeprefix("walker output: ") for k in kinds.values()} >= set(WALKER_KINDS)
