"""The saver: crashes saved at about the same time share a batch, and each keeps its own
outcome. Fake destinations: one written crash by crash (like storage), others by batch."""

import threading

import pytest
from harness.services import wait_for

from crashline.common.database.pool import DatabaseError
from crashline.common.storage import StorageError
from crashline.processor.destinations import PermanentSaveError
from crashline.processor.saver import Saver


class Store:
    """Crash by crash, like storage; fails for the crash ids in ``fail``."""

    name = "storage"

    def __init__(self, fail=()):
        self.fail = set(fail)
        self.saved = []

    def save(self, crash_id, processed):
        if crash_id in self.fail:
            raise StorageError("disk full")
        self.saved.append((crash_id, dict(processed)))


class Batched:
    """By batch; ``answer(crash_id)`` is each crash's result (default None). With a ``gate``,
    every batch waits for it, after saying it has started."""

    def __init__(self, name, answer=None, gate=None):
        self.name = name
        self.answer = answer or (lambda crash_id: None)
        self.gate = gate
        self.started = threading.Event()
        self.batches = []

    def save_batch(self, crashes):
        self.started.set()
        if self.gate is not None:
            self.gate.wait()
        self.batches.append([crash_id for crash_id, _ in crashes])
        results = []
        for crash_id, _ in crashes:
            answer = self.answer(crash_id)
            if isinstance(answer, Exception):
                answer = type(answer)(*answer.args)  # each crash its own exception
            results.append(answer)
        return results


def save_and_wait(saver, crash_id, processed):
    """Submit and wait: None once every destination has the crash, else the error."""
    finished = threading.Event()
    errors = []

    def done(error):
        errors.append(error)
        finished.set()

    saver.submit(crash_id, processed, done)
    assert finished.wait(10)
    return errors[0]


def save_in_a_thread(saver, crash_id, outcomes):
    """Save the crash from a thread of its own, which puts (error, processed crash) in
    ``outcomes`` when it is done; the thread."""
    def save():
        crash = {"n": crash_id}
        outcomes[crash_id] = (save_and_wait(saver, crash_id, crash), crash)

    thread = threading.Thread(target=save)
    thread.start()
    return thread


def join(threads):
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive()


def behind_a_held_batch(saver, search, crash_ids):
    """Save a crash ``first`` whose batch ``search`` holds (at its gate), then ``crash_ids``
    one after the other; return once they all wait for the next batch: (threads, {crash id:
    (error, processed)})."""
    outcomes = {}
    threads = [save_in_a_thread(saver, "first", outcomes)]
    assert search.started.wait(10)
    for n, crash_id in enumerate(crash_ids, 1):
        threads.append(save_in_a_thread(saver, crash_id, outcomes))
        wait_for(lambda n=n: len(saver._waiting) == n, 10, f"{crash_id} to wait")
    return threads, outcomes


@pytest.fixture
def gate():
    gate = threading.Event()
    yield gate
    gate.set()  # never leave the saver thread waiting


def test_crashes_saved_while_a_batch_is_written_share_the_next_one(gate):
    search = Batched("search", gate=gate)
    saver = Saver([Store(), search, Batched("database")])
    threads, outcomes = behind_a_held_batch(saver, search, ["b", "c", "d"])
    gate.set()
    join(threads)
    assert search.batches == [["first"], ["b", "c", "d"]]
    assert all(error is None for error, _ in outcomes.values())
    saver.close()


def test_the_same_crash_twice_is_never_in_one_batch(gate):
    search = Batched("search", gate=gate)
    saver = Saver([Store(), search])
    threads, _ = behind_a_held_batch(saver, search, ["y", "z", "y"])
    gate.set()
    join(threads)
    assert search.batches == [["first"], ["y", "z"], ["y"]]
    saver.close()


def test_each_crash_of_a_batch_keeps_its_own_outcome(gate):
    store = Store(fail={"b"})
    answers = {"c": PermanentSaveError("refused"), "d": {"removed_fields": ["url"]},
               "e": {"removed_fields": ["url"]}}
    search = Batched("search", answer=answers.get, gate=gate)
    database = Batched("database", answer={"d": DatabaseError("deadlock"),
                                           "c": DatabaseError("later")}.get)
    saver = Saver([store, search, database])
    threads, outcomes = behind_a_held_batch(saver, search, ["a", "b", "c", "d", "e"])
    gate.set()
    join(threads)
    errors = {crash_id: error for crash_id, (error, _) in outcomes.items()}
    assert errors["a"] is None and errors["e"] is None
    assert isinstance(errors["b"], StorageError)
    assert isinstance(errors["c"], PermanentSaveError)  # the first in destination order
    assert isinstance(errors["d"], DatabaseError)
    assert search.batches[1] == database.batches[1] == ["a", "c", "d", "e"]  # b: not stored
    # amendments reach the crash, failed or not, and only a saved one is stored again
    assert outcomes["d"][1]["removed_fields"] == outcomes["e"][1]["removed_fields"] == ["url"]
    assert [c for c, p in store.saved if "removed_fields" in p] == ["e"]
    saver.close()


def test_destinations_get_a_view_they_cannot_change():
    class Meddling:
        name = "search"

        def save_batch(self, crashes):
            for _, processed in crashes:
                processed["signature"] = "mine"

    saver = Saver([Store(), Meddling()])
    crash = {"signature": "theirs"}
    assert isinstance(save_and_wait(saver, "a", crash), TypeError)
    assert crash == {"signature": "theirs"}
    saver.close()


def test_a_destination_that_breaks_fails_its_batch_and_the_saver_goes_on():
    class Forgetful(Batched):
        def save_batch(self, crashes):
            return super().save_batch(crashes)[1:]  # one answer short

    saver = Saver([Store(), Forgetful("search")])
    assert "answered for 0 of 1" in str(save_and_wait(saver, "a", {}))
    saver.destinations[1] = Batched("search")
    assert save_and_wait(saver, "b", {}) is None
    saver.close()


def test_close_writes_what_is_waiting_and_then_refuses(gate):
    search = Batched("search", gate=gate)
    saver = Saver([Store(), search])
    threads, outcomes = behind_a_held_batch(saver, search, ["b"])
    closing = threading.Thread(target=saver.close)
    closing.start()
    gate.set()
    join(threads + [closing])
    assert search.batches == [["first"], ["b"]]
    assert all(error is None for error, _ in outcomes.values())
    with pytest.raises(RuntimeError, match="closed"):
        saver.submit("c", {}, lambda error: None)


def test_a_worker_goes_on_while_its_crash_is_being_saved(storage, gate):
    import datetime as dt

    from harness.crashes import store_crash

    from crashline.common.crashid import create_crash_id
    from crashline.processor.destinations import StorageDestination
    from crashline.processor.pipeline import Pipeline
    from crashline.processor.processor import CrashProcessor, Job, Result

    crash_id = create_crash_id(dt.datetime(2025, 8, 27, tzinfo=dt.UTC))
    store_crash(storage, crash_id, {"ProductName": "Widget"}, {})
    search = Batched("search", gate=gate)
    processor = CrashProcessor(storage, Pipeline({"default": []}),
                               [StorageDestination(storage), search])
    outcomes = []
    processor.start(Job(crash_id), outcomes.append)  # returns with the save in hand
    search.started.wait(10)
    assert outcomes == []
    gate.set()
    wait_for(lambda: outcomes, 10, "the outcome")
    assert outcomes[0].result is Result.SAVED
    assert storage.has_processed_crash(crash_id)
    processor.close()
