"""Processing one crash: load it, run the rule pipeline, save the result everywhere.

:meth:`CrashProcessor.handle` never raises: it turns every way a crash can end into an
:class:`Outcome` that tells the consumer what to do with the message (ack, retry later, or
send to the failed queue). Only the consumer touches the queue.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import datetime as dt
import enum
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from crashline.common.crashid import InvalidCrashId, validate_crash_id
from crashline.common.database.pool import DatabaseError
from crashline.common.logs import crash_context
from crashline.common.search.client import SearchError
from crashline.common.storage import CrashNotFound, CrashStorage, StorageError
from crashline.processor.destinations import PermanentSaveError, date_processed
from crashline.processor.pipeline import Crash, Pipeline, UnknownRuleset

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


class Destination(Protocol):  # destinations.py's classes
    name: str

    def save(self, crash_id: str, processed: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """Write the crash, reading ``processed`` only; return the fields the processed crash
        must gain because of this write (e.g. ``removed_fields``), or None."""


class CrashProcessor:
    def __init__(self, storage: CrashStorage, pipeline: Pipeline,
                 destinations: Sequence[Destination], *, tmp_dir: Path | None = None,
                 on_saved: Callable[[str, dict, float], None] | None = None,
                 save_timer: Callable[[str, float], None] | None = None,
                 save_threads: int = 4):
        self.storage = storage
        self.pipeline = pipeline
        self.destinations = list(destinations)
        self.tmp_dir = tmp_dir
        self.on_saved = on_saved  # (ruleset, processed crash, seconds): metrics
        self.save_timer = save_timer  # (destination, seconds)
        # The saves after the first run side by side: the calling thread does one, the pool
        # the others (threads are made on demand, so an idle processor holds none).
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max(1, save_threads), thread_name_prefix="save")

    # -- the whole job --------------------------------------------------------------------
    def handle(self, job: Job) -> Outcome:
        started = time.monotonic()
        with crash_context(job.crash_id):
            try:
                validate_crash_id(job.crash_id)
                self.pipeline.check_ruleset(job.ruleset)
                if job.processed is None:
                    job.processed = self.process(job.crash_id, job.ruleset)
                self.save(job.crash_id, job.processed)
            except (InvalidCrashId, UnknownRuleset, PermanentSaveError) as exc:
                log.error("crash cannot be processed: %s", exc)
                return Outcome(Result.FAILED, f"{type(exc).__name__}: {exc}")
            except CrashNotFound as exc:
                log.warning("no raw crash, nothing to process (%s)", exc)
                return Outcome(Result.MISSING, f"not found: {exc}")
            except TRANSIENT_ERRORS as exc:
                log.warning("attempt %d failed: %s", job.attempt, exc)
                return Outcome(Result.RETRY, f"{type(exc).__name__}: {exc}")
            except Exception as exc:  # the pipeline itself broke: a poison message
                log.exception("processing crashed")
                return Outcome(Result.FAILED, f"{type(exc).__name__}: {exc}")
            if self.on_saved is not None:
                self.on_saved(job.ruleset, job.processed, time.monotonic() - started)
            log.info("processed", extra={"ruleset": job.ruleset,
                                         "signature": job.processed.get("signature")})
            return Outcome(Result.SAVED, processed=job.processed)

    # -- the parts ------------------------------------------------------------------------
    def process(self, crash_id: str, ruleset: str = "default") -> dict:
        """Run the pipeline over the stored raw crash and return the processed crash."""
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

        tmpdir = Path(tempfile.mkdtemp(prefix=f"crashline-{crash_id}-", dir=self.tmp_dir))
        try:
            dumps = {}
            for name in dump_names:
                path = tmpdir / f"{name}.dmp"
                path.write_bytes(self.storage.get_dump(crash_id, name))
                dumps[name] = path
            crash = Crash(crash_id=crash_id, raw_crash=raw_crash, dumps=dumps,
                          processed=base, tmpdir=tmpdir, ruleset=ruleset)
            return self.pipeline.run(crash)
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)

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

    def save(self, crash_id: str, processed: dict) -> None:
        """The first destination (storage), then the others (search, PostgreSQL) at once.

        Storage goes first so that whatever search or PostgreSQL can show is readable; the
        others are independent of each other, so they overlap. None of them may change the
        crash they are given (each gets the same read-only view): what a write must add to
        it, such as the fields the search engine refused, comes back as amendments, which
        are applied here and then stored too, so the stored crash names them. Every
        destination must succeed before this returns (the ack follows); if any fails, the
        first failure in destination order is raised once all have finished, and the retry
        writes all of them again (each write is idempotent, and the retry starts from the
        amended crash)."""
        if not self.destinations:
            return
        first, *rest = self.destinations
        self._save_one(first, crash_id, processed)
        view = MappingProxyType(processed)
        outcomes = self._save_all(rest, crash_id, view)
        amendments = {}
        for outcome in outcomes:
            if isinstance(outcome, Mapping):
                amendments.update(outcome)
        processed.update(amendments)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        if amendments:
            self._save_one(first, crash_id, processed)

    def _save_one(self, destination: Destination, crash_id: str,
                  processed: Mapping[str, Any]) -> Mapping[str, Any] | None:
        begun = time.monotonic()
        amendments = destination.save(crash_id, processed)
        if self.save_timer is not None:
            self.save_timer(destination.name, time.monotonic() - begun)
        return amendments

    def _save_all(self, destinations: Sequence[Destination], crash_id: str,
                  processed: Mapping[str, Any]) -> list[Mapping[str, Any] | None | Exception]:
        """Each destination's amendments or exception, in order; this thread does the
        first, the pool the others."""
        if not destinations:
            return []
        head, *others = destinations
        futures = [
            self._pool.submit(contextvars.copy_context().run, self._save_one, d, crash_id,
                              processed)
            for d in others
        ]
        outcomes: list[Mapping[str, Any] | None | Exception] = []
        try:
            outcomes.append(self._save_one(head, crash_id, processed))
        except Exception as exc:
            outcomes.append(exc)
        for future in futures:  # wait for every one, even after a failure
            try:
                outcomes.append(future.result())
            except Exception as exc:
                outcomes.append(exc)
        return outcomes

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def queue_lag(processed: dict) -> float | None:
    """Seconds from the collector receiving the crash to now."""
    try:
        submitted = date_processed(processed)
    except (PermanentSaveError, ValueError):
        return None
    return (dt.datetime.now(dt.UTC) - submitted).total_seconds()
