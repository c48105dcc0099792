"""Processing one crash: load it, run the rule pipeline, save the result everywhere.

:meth:`CrashProcessor.handle` never raises: it turns every way a crash can end into an
:class:`Outcome` that tells the consumer what to do with the message (ack, retry later, or
send to the failed queue). Only the consumer touches the queue. The saves of the crashes
that the worker threads finish at about the same time are written together (saver.py).
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from crashline.common.crashid import InvalidCrashId, validate_crash_id
from crashline.common.database.pool import DatabaseError
from crashline.common.logs import crash_context
from crashline.common.search.client import SearchError
from crashline.common.storage import CrashNotFound, CrashStorage, StorageError
from crashline.processor.destinations import PermanentSaveError, date_processed
from crashline.processor.pipeline import Crash, Pipeline, UnknownRuleset
from crashline.processor.saver import Destination, Saver

log = logging.getLogger(__name__)

# Failures of a backend (or of the local disk) that may well succeed a little later.
TRANSIENT_ERRORS = (StorageError, SearchError, DatabaseError, OSError)


class Result(enum.Enum):
    SAVED = "saved"        # every store holds the processed crash: ack
    MISSING = "missing"    # no raw crash: ack, nothing to do
    RETRY = "retry"        # a backend failed: try again later
    FAILED = "failed"      # will never work as it is: to the failed queue


@dataclass
class Outcome:
    result: Result
    reason: str = ""
    processed: dict | None = None


@dataclass
class Job:
    """One message's crash on its way through the processor, across retries."""

    crash_id: str
    ruleset: str = "default"
    attempt: int = 1
    processed: dict | None = None  # set once processing succeeded; a retry only saves
    reason: str = ""  # why it was queued again, noted in its history


class CrashProcessor:
    def __init__(self, storage: CrashStorage, pipeline: Pipeline,
                 destinations: Sequence[Destination], *, tmp_dir: Path | None = None,
                 on_saved: Callable[[str, dict, float], None] | None = None,
                 save_timer: Callable[[str, float], None] | None = None,
                 on_batch: Callable[[int], None] | None = None,
                 save_threads: int = 4, save_batch: int = 32):
        self.storage = storage
        self.pipeline = pipeline
        self.tmp_dir = tmp_dir  # where the worker threads' scratch folders go
        self._local = threading.local()
        self._lock = threading.Lock()
        self._scratch_folders: list[Path] = []
        self.on_saved = on_saved  # (ruleset, processed crash, seconds): metrics
        self.saver = Saver(destinations, threads=save_threads, max_batch=save_batch,
                           timer=save_timer, on_batch=on_batch)

    @property
    def destinations(self) -> list[Destination]:
        return self.saver.destinations

    # -- the whole job --------------------------------------------------------------------
    def start(self, job: Job, done: Callable[[Outcome], None]) -> None:
        """Process the crash on this thread (unless an earlier attempt did), queue it for the
        saver and return. ``done(outcome)`` is called once: from the saver's thread when
        every store holds the crash or one has failed, or from this thread if the crash
        failed before."""
        started = time.monotonic()
        with crash_context(job.crash_id):
            try:
                validate_crash_id(job.crash_id)
                self.pipeline.check_ruleset(job.ruleset)
                if job.processed is None:
                    job.processed = self.process(job.crash_id, job.ruleset, job.reason)
            except Exception as exc:
                done(self._failed(job, exc))
                return
        self.saver.submit(job.crash_id, job.processed,
                          lambda error: done(self._saved(job, error, started)))

    def handle(self, job: Job) -> Outcome:
        """:meth:`start`, and wait for the outcome."""
        finished = threading.Event()
        outcomes: list[Outcome] = []

        def done(outcome: Outcome) -> None:
            outcomes.append(outcome)
            finished.set()

        self.start(job, done)
        finished.wait()
        return outcomes[0]

    def _saved(self, job: Job, error: BaseException | None, started: float) -> Outcome:
        with crash_context(job.crash_id):
            if error is not None:
                return self._failed(job, error)
            if self.on_saved is not None:
                self.on_saved(job.ruleset, job.processed, time.monotonic() - started)
            log.info("processed", extra={"ruleset": job.ruleset,
                                         "signature": job.processed.get("signature")})
            return Outcome(Result.SAVED, processed=job.processed)

    @staticmethod
    def _failed(job: Job, exc: BaseException) -> Outcome:
        """What to do with a crash that failed this way."""
        reason = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, InvalidCrashId | UnknownRuleset | PermanentSaveError):
            log.error("crash cannot be processed: %s", exc)
            return Outcome(Result.FAILED, reason)
        if isinstance(exc, CrashNotFound):
            log.warning("no raw crash, nothing to process (%s)", exc)
            return Outcome(Result.MISSING, f"not found: {exc}")
        if isinstance(exc, TRANSIENT_ERRORS):
            log.warning("attempt %d failed: %s", job.attempt, exc)
            return Outcome(Result.RETRY, reason)
        # the pipeline itself broke: a poison message
        log.error("processing crashed", exc_info=exc)
        return Outcome(Result.FAILED, reason)

    # -- the parts ------------------------------------------------------------------------
    def process(self, crash_id: str, ruleset: str = "default", reason: str = "") -> dict:
        """Run the pipeline over the stored raw crash and return the processed crash;
        ``reason``: why it is processed again."""
        raw_crash = self.storage.get_raw_crash(crash_id)
        try:
            previous = self.storage.get_processed_crash(crash_id)
        except CrashNotFound:
            previous = None
        if ruleset != "default" and previous is None:
            # Nothing to build on: the only way to a signature is the whole pipeline.
            log.info("no processed crash for ruleset %s; running the default one", ruleset)
            ruleset = "default"
        base = self._base(previous, ruleset)
        dump_names = self.storage.get_dump_names(crash_id) if ruleset == "default" else []

        tmpdir = self._scratch()
        try:
            dumps = {}
            for name in dump_names:
                path = tmpdir / f"{name}.dmp"
                path.write_bytes(self.storage.get_dump(crash_id, name))
                dumps[name] = path
            crash = Crash(crash_id=crash_id, raw_crash=raw_crash, dumps=dumps,
                          processed=base, tmpdir=tmpdir, ruleset=ruleset,
                          previous=previous or {}, reason=reason)
            return self.pipeline.run(crash)
        finally:
            self._clean(tmpdir)

    def _scratch(self) -> Path:
        """This thread's scratch folder: made once and emptied after every crash, which
        costs a third of making and removing a folder per crash."""
        folder = getattr(self._local, "scratch", None)
        if folder is None or not folder.is_dir():
            folder = Path(tempfile.mkdtemp(prefix="crashline-", dir=self.tmp_dir))
            self._local.scratch = folder
            with self._lock:
                self._scratch_folders.append(folder)
        return folder

    def _clean(self, folder: Path) -> None:
        try:
            _empty(folder)
        except OSError:  # never hand a crash what another left: start a new folder
            log.warning("cannot empty the scratch folder %s", folder, exc_info=True)
            shutil.rmtree(folder, ignore_errors=True)
            self._local.scratch = None

    @staticmethod
    def _base(previous: dict | None, ruleset: str) -> dict:
        """What a run starts from. ``default`` rebuilds every field from the raw crash (so a
        field an earlier version wrote cannot linger) and keeps only the notes history;
        the other rule sets edit the stored processed crash."""
        if previous is None:
            return {}
        if ruleset != "default":
            return dict(previous)
        return {k: previous[k] for k in ("processor_notes", "processor_history") if k in previous}

    def close(self) -> None:
        self.saver.close()
        with self._lock:
            for folder in self._scratch_folders:
                shutil.rmtree(folder, ignore_errors=True)
            self._scratch_folders.clear()


def _empty(folder: Path) -> None:
    """Remove what is in ``folder`` (what a crash's rules and stack walks left there)."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)


def queue_lag(processed: dict) -> float | None:
    """Seconds from the collector receiving the crash to now."""
    try:
        submitted = date_processed(processed)
    except PermanentSaveError:
        return None
    return (dt.datetime.now(dt.UTC) - submitted).total_seconds()
