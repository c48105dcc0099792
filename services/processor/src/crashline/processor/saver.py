"""Saving processed crashes in batches (group commit).

Why: every store makes each write request durable on its own. The search engine fsyncs its
translog at the end of each indexing request, PostgreSQL its WAL at each commit, and both
spend more on a request's overhead than on a small crash's document or rows. Written one
crash per request, a small crash costs more in saves than in its stack walk; written
together, the crashes that the worker threads finish at about the same time share one
``_bulk`` request, one transaction and their fsyncs.

How: the worker threads hand their processed crashes to one saver thread and go on with
their next crash (so the stack walks never wait for a save); the saver calls back when it is
done with each. It takes every crash waiting, up to ``max_batch``, and writes them as one
batch; what arrives meanwhile waits for the next batch. There is no timer to tune: an idle
processor writes a lone crash at once (no added latency), and under load the batches grow by
themselves with the time a batch takes, which is when batching pays. The cost is latency
only: a crash that arrives while a batch is being written waits for it.

A batch is written the way a single crash is: storage first (each crash its own object,
written side by side), then the other destinations at once (for search, one ``_bulk``
request; for PostgreSQL, one transaction), each reading a read-only view of every crash;
what a write must add to a crash (amendments such as ``removed_fields``) is applied to it,
and the crashes that gained fields are stored again. Each crash keeps its own outcome: a
document the engine refuses, or a row PostgreSQL refuses, fails or amends that crash alone,
and the first failure in destination order is the one reported. The callback of a crash
runs only once every store holds it (or one failed), so the consumer still acks after
every store. A batch never holds the same crash twice: a second copy waits for the next
batch, so no store is handed two versions of a crash in one write.
"""

from __future__ import annotations

import collections
import concurrent.futures
import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

from crashline.common.logs import crash_context

log = logging.getLogger(__name__)

# What a destination says about one crash: the fields the processed crash must gain (or
# None), or why the write failed.
Result = Mapping[str, Any] | BaseException | None


class Destination(Protocol):  # destinations.py's classes
    name: str

    def save(self, crash_id: str, processed: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """Write one crash, reading ``processed`` only; return the fields the processed crash
        must gain because of this write (e.g. ``removed_fields``), or None. A destination may
        also write many crashes at once: ``save_batch(crashes)`` with ``(crash_id,
        processed)`` pairs (distinct crash ids) returns one :data:`Result` per crash."""


@dataclass
class _Pending:
    crash_id: str
    processed: dict[str, Any]
    done: Callable[[BaseException | None], None]
    error: BaseException | None = None

    def fail(self, error: BaseException) -> None:
        """Keep the first failure (in destination order) only."""
        if self.error is None:
            self.error = error


class Saver:
    """Writes processed crashes to the destinations in batches (see the module docstring)."""

    def __init__(self, destinations: Sequence[Destination], *, threads: int = 4,
                 max_batch: int = 32,
                 timer: Callable[[str, float], None] | None = None,
                 on_batch: Callable[[int], None] | None = None):
        self.destinations = list(destinations)
        self.max_batch = max(1, max_batch)
        self.timer = timer  # (destination, seconds) of each write
        self.on_batch = on_batch  # (crashes) of each batch
        # The per-crash writes of a batch run side by side, in the saver thread and these
        # (made on demand, so an idle processor holds none).
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=max(1, threads), thread_name_prefix="save")
        self._waiting: collections.deque[_Pending] = collections.deque()
        self._cond = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None

    def submit(self, crash_id: str, processed: dict[str, Any],
               done: Callable[[BaseException | None], None]) -> None:
        """Queue the crash for the next batch and return. ``done(error)`` is called once,
        from the saver thread, when every destination holds the crash (``error`` None) or
        one has failed (the first failure in destination order). Amendments are applied to
        ``processed`` in place, failure or not, so a retry starts from the amended crash."""
        with self._cond:
            if self._closing:
                raise RuntimeError("the saver is closed")
            self._waiting.append(_Pending(crash_id, processed, done))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="saver", daemon=True)
                self._thread.start()
            self._cond.notify()

    def close(self) -> None:
        """Write what is waiting, then stop."""
        with self._cond:
            self._closing = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join()
        self._pool.shutdown(wait=True)

    # -- the saver thread -------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._waiting and not self._closing:
                    self._cond.wait()
                if not self._waiting:
                    return
                batch = self._take()
            try:
                self._write(batch)
            except BaseException as exc:  # a bug here must fail the batch, not hang workers
                log.exception("saving a batch of %d crashes failed", len(batch))
                for pending in batch:
                    pending.fail(exc)
            for pending in batch:
                try:
                    pending.done(pending.error)
                except Exception:  # one caller's bug must not cost the others their answer
                    log.exception("reporting crash %s failed", pending.crash_id)

    def _take(self) -> list[_Pending]:
        """Up to ``max_batch`` waiting crashes, oldest first, each crash id once."""
        batch: list[_Pending] = []
        later: list[_Pending] = []
        ids: set[str] = set()
        while self._waiting and len(batch) < self.max_batch:
            pending = self._waiting.popleft()
            if pending.crash_id in ids:
                later.append(pending)
            else:
                ids.add(pending.crash_id)
                batch.append(pending)
        self._waiting.extendleft(reversed(later))
        return batch

    def _write(self, batch: list[_Pending]) -> None:
        if self.on_batch is not None:
            self.on_batch(len(batch))
        if not self.destinations:
            return
        first, *others = self.destinations
        self._store(first, batch)
        stored = [p for p in batch if p.error is None]
        if not stored or not others:
            return
        views = [(p.crash_id, MappingProxyType(p.processed)) for p in stored]
        amended = []
        per_crash = zip(*self._write_all(others, views), strict=True)
        for pending, results in zip(stored, per_crash, strict=True):
            amendments: dict[str, Any] = {}
            for result in results:
                if isinstance(result, BaseException):
                    pending.fail(result)
                elif result:
                    amendments.update(result)
            pending.processed.update(amendments)
            if amendments and pending.error is None:
                amended.append(pending)
        if amended:  # so that the stored crash names them too
            self._store(first, amended)

    def _store(self, first: Destination, batch: list[_Pending]) -> None:
        [results] = self._write_all([first], [(p.crash_id, p.processed) for p in batch])
        for pending, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                pending.fail(result)

    def _write_all(self, destinations: Sequence[Destination],
                   crashes: list[tuple[str, Mapping[str, Any]]]) -> list[list[Result]]:
        """Every destination's result for every crash, all written side by side: a
        destination that takes batches in one call, any other crash by crash."""
        calls: list[tuple[int, Callable[[], list[Result]]]] = []
        for d, destination in enumerate(destinations):
            if hasattr(destination, "save_batch"):
                calls.append((d, functools.partial(self._save_batch, destination, crashes)))
            else:
                calls += [(d, functools.partial(self._save_one, destination, crash_id, processed))
                          for crash_id, processed in crashes]
        futures = [self._pool.submit(call) for _, call in calls[1:]]
        outcomes = [calls[0][1]()] + [future.result() for future in futures]
        results: list[list[Result]] = [[] for _ in destinations]
        for (d, _), outcome in zip(calls, outcomes, strict=True):
            results[d] += outcome
        return results

    def _save_batch(self, destination: Destination,
                    crashes: list[tuple[str, Mapping[str, Any]]]) -> list[Result]:
        begun = time.monotonic()
        try:
            results = list(destination.save_batch(crashes))
            if len(results) != len(crashes):
                raise RuntimeError(f"{destination.name} answered for {len(results)} of "
                                   f"{len(crashes)} crashes")
        except Exception as exc:  # the whole request failed: every crash of it did
            results = [exc] * len(crashes)
        self._time(destination, begun)
        return results

    def _save_one(self, destination: Destination, crash_id: str,
                  processed: Mapping[str, Any]) -> list[Result]:
        begun = time.monotonic()
        with crash_context(crash_id):
            try:
                result: Result = destination.save(crash_id, processed)
            except Exception as exc:
                result = exc
        self._time(destination, begun)
        return [result]

    def _time(self, destination: Destination, begun: float) -> None:
        if self.timer is not None:
            self.timer(destination.name, time.monotonic() - begun)
