"""CrashProcessor.handle: every way a crash can end, with real local storage and fakes for
the other destinations."""

import datetime as dt

import pytest
from harness.crashes import store_crash

from crashline.common.crashid import create_crash_id
from crashline.common.search.client import SearchError
from crashline.common.storage import StorageError
from crashline.processor.destinations import PermanentSaveError, StorageDestination
from crashline.processor.pipeline import Pipeline, Rule
from crashline.processor.processor import CrashProcessor, Job, Result


class Recorder:
    def __init__(self, name, fail=None):
        self.name, self.fail, self.saved = name, fail, []

    def save(self, crash_id, processed):
        if self.fail:
            raise self.fail
        self.saved.append((crash_id, dict(processed)))


class Boom(Exception):
    pass


class SeesDumps(Rule):
    def action(self, crash):
        crash.processed["dumps"] = {n: p.read_bytes().decode() for n, p in crash.dumps.items()}
        crash.processed["product"] = crash.raw_crash.get("ProductName")


@pytest.fixture
def crash_id(storage):
    cid = create_crash_id(dt.datetime(2025, 8, 27, tzinfo=dt.UTC))
    store_crash(storage, cid, {"ProductName": "Widget"}, {"upload_file_minidump": b"MDMP"})
    return cid


def make(storage, *destinations, rules=None):
    pipeline = Pipeline({"default": rules or [SeesDumps()], "regenerate_signature": []})
    return CrashProcessor(storage, pipeline, [StorageDestination(storage), *destinations])


def test_saved_everywhere_in_order(storage, crash_id):
    search, db = Recorder("search"), Recorder("database")
    outcome = make(storage, search, db).handle(Job(crash_id))
    assert outcome.result is Result.SAVED
    stored = storage.get_processed_crash(crash_id)
    assert stored["dumps"] == {"upload_file_minidump": "MDMP"}
    assert search.saved[0][1]["product"] == "Widget"
    assert db.saved[0][0] == crash_id


def test_missing_raw_crash(storage):
    outcome = make(storage).handle(Job(create_crash_id()))
    assert outcome.result is Result.MISSING


@pytest.mark.parametrize("bad", ["nope", "de1bb258-cbbf-4589-a673-34f800169999"])
def test_bad_crash_id_fails(storage, bad):
    assert make(storage).handle(Job(bad)).result is Result.FAILED


def test_unknown_ruleset_fails(storage, crash_id):
    outcome = make(storage).handle(Job(crash_id, ruleset="bogus"))
    assert outcome.result is Result.FAILED
    assert "bogus" in outcome.reason


@pytest.mark.parametrize("error", [SearchError("down"), StorageError("down")])
def test_backend_failure_is_retried_and_the_retry_only_saves(storage, crash_id, error):
    search = Recorder("search", fail=error)
    processor = make(storage, search)
    job = Job(crash_id)
    assert processor.handle(job).result is Result.RETRY
    first = job.processed
    assert first is not None
    search.fail = None
    job.attempt += 1
    assert processor.handle(job).result is Result.SAVED
    assert search.saved[0][1]["completed_datetime"] == first["completed_datetime"]


def test_permanent_save_error_fails(storage, crash_id):
    outcome = make(storage, Recorder("search", fail=PermanentSaveError("refused"))).handle(
        Job(crash_id))
    assert outcome.result is Result.FAILED


def test_pipeline_crash_is_a_poison_message(storage, crash_id, monkeypatch):
    processor = make(storage)
    monkeypatch.setattr(processor.pipeline, "run", lambda crash: (_ for _ in ()).throw(Boom()))
    outcome = processor.handle(Job(crash_id))
    assert outcome.result is Result.FAILED
    assert "Boom" in outcome.reason


def test_replay_gives_the_same_result(storage, crash_id):
    processor = make(storage)
    processor.handle(Job(crash_id))
    first = storage.get_processed_crash(crash_id)
    processor.handle(Job(crash_id))
    second = storage.get_processed_crash(crash_id)
    volatile = {"started_datetime", "completed_datetime", "processor_notes",
                "processor_history"}
    assert {k: v for k, v in first.items() if k not in volatile} == {
        k: v for k, v in second.items() if k not in volatile}
    assert second["processor_history"] == [first["processor_notes"]]


def test_regenerate_signature_without_a_processed_crash_runs_everything(storage, crash_id):
    processor = make(storage)
    outcome = processor.handle(Job(crash_id, ruleset="regenerate_signature"))
    assert outcome.result is Result.SAVED
    assert storage.get_processed_crash(crash_id)["product"] == "Widget"


def test_regenerate_signature_keeps_the_other_fields(storage, crash_id):
    processor = make(storage)
    processor.handle(Job(crash_id))
    storage.put_raw_crash(crash_id, {"ProductName": "Changed"})
    processor.handle(Job(crash_id, ruleset="regenerate_signature"))
    assert storage.get_processed_crash(crash_id)["product"] == "Widget"


class Rejecting:
    """A search destination that had to leave a field out."""

    name = "search"

    def save(self, crash_id, processed):
        return {"removed_fields": ["url"]}


@pytest.mark.parametrize("order", ["search first", "search last"])
def test_amendments_are_written_back_to_storage_whatever_the_order(storage, crash_id, order):
    others = [Rejecting(), Recorder("database"), Recorder("other")]
    if order == "search last":
        others.reverse()
    processor = make(storage, *others)
    assert processor.handle(Job(crash_id)).result is Result.SAVED
    assert storage.get_processed_crash(crash_id)["removed_fields"] == ["url"]
    processor.close()


def test_destinations_cannot_change_the_crash_they_are_given(storage, crash_id):
    class Meddling:
        name = "search"

        def save(self, crash_id, processed):
            processed["signature"] = "mine"

    outcome = make(storage, Meddling(), Recorder("database")).handle(Job(crash_id))
    assert outcome.result is Result.FAILED and "TypeError" in outcome.reason
    assert storage.get_processed_crash(crash_id).get("signature") != "mine"


def test_amendments_survive_a_failed_save_for_the_retry(storage, crash_id):
    database = Recorder("database", fail=SearchError("down"))
    processor = make(storage, Rejecting(), database)
    job = Job(crash_id)
    assert processor.handle(job).result is Result.RETRY
    database.fail = None
    assert processor.handle(job).result is Result.SAVED
    assert database.saved[0][1]["removed_fields"] == ["url"]
    assert storage.get_processed_crash(crash_id)["removed_fields"] == ["url"]


class Ordered:
    """A destination that records when it ran and whether storage held the crash then."""

    def __init__(self, name, storage, log, fail=None):
        self.name, self.storage, self.log, self.fail = name, storage, log, fail

    def save(self, crash_id, processed):
        self.log.append((self.name, self.storage.has_processed_crash(crash_id)))
        if self.fail:
            raise self.fail


def test_search_and_database_see_the_stored_crash(storage, crash_id):
    log = []
    processor = make(storage, Ordered("search", storage, log), Ordered("database", storage, log))
    assert processor.handle(Job(crash_id)).result is Result.SAVED
    assert sorted(log) == [("database", True), ("search", True)]
    processor.close()


@pytest.mark.parametrize("failing", ["search", "database"])
def test_one_failing_save_is_retried_after_all_have_run(storage, crash_id, failing):
    log = []
    destinations = [Ordered(name, storage, log, fail=SearchError("down") if name == failing
                            else None) for name in ("search", "database")]
    outcome = make(storage, *destinations).handle(Job(crash_id))
    assert outcome.result is Result.RETRY
    assert "down" in outcome.reason
    assert sorted(name for name, _ in log) == ["database", "search"]


def test_the_first_failure_in_destination_order_is_reported(storage, crash_id):
    log = []
    outcome = make(storage, Ordered("search", storage, log, fail=SearchError("search down")),
                   Ordered("database", storage, log, fail=StorageError("db down"))).handle(
        Job(crash_id))
    assert outcome.result is Result.RETRY
    assert outcome.reason == "SearchError: search down"
