"""The processor on real crash data from ../shared/corpus (skips where it is absent)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.corpus]


def test_windows_dump_with_symbols(corpus, start_worker, submit, wait_processed,
                                   search_backend, database):
    worker = start_worker()
    dump = (corpus / "minidumps" / "windows-x86-test_app.dmp").read_bytes()
    crash_id = submit(dump, {"ProductName": "TestApp", "Version": "1.0"})
    processed, document = wait_processed(crash_id, worker=worker)

    frame = processed["json_dump"]["threads"][0]["frames"][0]
    assert frame["function"] == "`anonymous namespace'::CrashFunction"
    assert (frame["file"], frame["line"]) == ("c:\\test_app.cc", 58)
    assert processed["reason"] == "EXCEPTION_ACCESS_VIOLATION_WRITE"
    assert int(processed["address"], 16) == 0x45
    assert processed["crashing_thread"] == 0
    assert processed["os_name"] == "Windows NT"
    assert processed["signature"] == "(anonymous namespace)::CrashFunction"

    # findable by its signature
    from crashline.processor.destinations import SearchDestination

    index = SearchDestination(search_backend).index_name(processed)
    search_backend.refresh(index)
    hits = search_backend.search([index], {"query": {"bool": {"filter": [
        {"term": {"signature": processed["signature"]}},
        {"term": {"crash_id": crash_id}}]}}})["hits"]["hits"]
    assert [hit["_id"] for hit in hits] == [crash_id]
    assert document["reason"] == "EXCEPTION_ACCESS_VIOLATION_WRITE"

    with database.transaction() as cur:
        cur.execute("SELECT first_date FROM signatures WHERE signature = %s",
                    (processed["signature"],))
        assert cur.fetchone() is not None


def test_linux_dump_without_symbols(corpus, start_worker, submit, wait_processed):
    worker = start_worker()
    dump = (corpus / "minidumps" / "linux-x86_64-mini.dmp").read_bytes()
    processed, _ = wait_processed(submit(dump), worker=worker)
    assert processed["mdsw_status_string"] == "OK"
    assert processed["os_name"] == "Linux"
    assert processed["reason"].startswith("SIGSEGV")
    assert int(processed["address"], 16) == 0x45


@pytest.mark.parametrize("name", ["invalid-range.dmp", "invalid-record-count.dmp"])
def test_corrupt_dumps_get_a_status_and_an_empty_signature(corpus, start_worker, submit,
                                                           wait_processed, name):
    worker = start_worker()
    crash_id = submit((corpus / "minidumps" / name).read_bytes())
    processed, document = wait_processed(crash_id, worker=worker)
    status = processed["mdsw_status_string"]
    assert status not in ("OK", "", None)
    assert processed["signature"] == f"EMPTY: no frame data available; {status}"
    assert document["mdsw_status_string"] == status
    # the worker goes on
    good = submit((corpus / "minidumps" / "windows-x86-test_app.dmp").read_bytes())
    assert wait_processed(good, worker=worker)[0]["mdsw_status_string"] == "OK"
    assert worker.proc.poll() is None
