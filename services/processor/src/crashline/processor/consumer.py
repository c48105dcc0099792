"""The queue consumer and its worker threads.

One consumer thread owns the RabbitMQ connection (pika is not thread-safe): it fetches
messages, hands crashes to N worker threads through a small bounded queue, and sends every
ack, retry and dead-letter itself when a crash's outcome comes back. A worker processes a
crash, hands it to the processor's saver (which writes the crashes of all the workers in
batches) and takes the next one; the outcome comes back once every store has the crash.
Fetching is weighted across the three queues (priority first; see :class:`WeightedSchedule`),
and it stops while the process already holds ``max_in_flight`` crashes (saves included), so
a backend outage makes crashes wait in RabbitMQ rather than in memory.

Shutdown (SIGTERM): stop fetching, give back what no worker has started, let the workers
and the saver finish the crashes in hand, send their acks, close.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from crashline.common.failed import failure_headers
from crashline.common.queue import REASON_HEADER, Message, QueueError, QueueNames, RabbitMQ
from crashline.common.retry import Backoff
from crashline.processor.failures import RetrySchedule
from crashline.processor.processor import CrashProcessor, Job, Outcome, Result

log = logging.getLogger(__name__)

_STOP = object()


class WeightedSchedule:
    """Which queue to try next: a smooth weighted round robin over the queues (default
    5 priority : 5 standard : 1 reprocessing), each turn falling back to the other queues in
    priority order when its own is empty. So a mass reprocessing gets one fetch in eleven
    while fresh crashes wait, and all the capacity when they do not."""

    def __init__(self, names: QueueNames, priority: int = 5, standard: int = 5,
                 reprocessing: int = 1):
        self.order = (names.priority, names.standard, names.reprocessing)
        self.weights = dict(zip(self.order, (priority, standard, reprocessing), strict=True))
        self._current = dict.fromkeys(self.order, 0)

    def next_turn(self) -> list[str]:
        total = sum(self.weights.values())
        for name in self.order:
            self._current[name] += self.weights[name]
        chosen = max(self.order, key=lambda n: (self._current[n], -self.order.index(n)))
        self._current[chosen] -= total
        return [chosen, *(n for n in self.order if n != chosen)]


@dataclass
class InFlight:
    message: Message
    job: Job


class Consumer:
    def __init__(self, client: RabbitMQ, processor: CrashProcessor, *, workers: int = 4,
                 queue_size: int = 8, max_in_flight: int = 64,
                 schedule: WeightedSchedule | None = None, idle_delay: float = 0.25,
                 retry: Backoff | None = None,
                 on_result: Callable[[str, Outcome], None] | None = None):
        self.client = client
        self.processor = processor
        self.names = client.names
        self.workers = workers
        self.work: queue.Queue = queue.Queue(maxsize=queue_size)
        self.done: queue.Queue = queue.Queue()
        self.max_in_flight = max(max_in_flight, queue_size)
        self.schedule = schedule or WeightedSchedule(self.names)
        self.idle_delay = idle_delay
        self.retry = retry or Backoff(attempts=10, first=1.0, maximum=60.0)
        self.retries = RetrySchedule()
        self.on_result = on_result  # (queue, outcome): metrics
        self.stopping = threading.Event()
        self._wake = threading.Event()
        self._in_flight = 0
        self._threads: list[threading.Thread] = []

    # -- lifecycle ------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask for a graceful stop (safe from a signal handler)."""
        self.stopping.set()
        self._wake.set()

    def run(self) -> None:
        self.client.connect()
        self._threads = [threading.Thread(target=self._work, name=f"worker-{i}", daemon=True)
                         for i in range(self.workers)]
        for thread in self._threads:
            thread.start()
        log.info("consuming %s with %d workers", ", ".join(self.schedule.order), self.workers)
        try:
            while not self.stopping.is_set():
                self._step()
            self._shutdown()
        finally:
            for _ in self._threads:
                try:
                    self.work.put(_STOP, timeout=1)
                except queue.Full:  # workers are daemon threads; they die with us
                    break
            for thread in self._threads:
                thread.join(timeout=5)
            self.client.close()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    # -- the consumer thread --------------------------------------------------------------
    def _step(self) -> None:
        busy = self._finish_done()
        busy |= self._start_due_retries()
        try:
            busy |= self._fetch()
        except QueueError as exc:
            log.error("cannot fetch from RabbitMQ: %s", exc)
            self.stopping.wait(min(5.0, self.idle_delay * 10))
            return
        if not busy:
            self._idle()

    def _idle(self) -> None:
        """Wait for a worker to report back, a retry to fall due, or the poll interval."""
        wait = self.idle_delay
        next_retry = self.retries.next_in()
        if next_retry is not None:
            wait = min(wait, next_retry)
        self._wait(wait)

    def _wait(self, seconds: float) -> None:
        """Wait up to ``seconds`` for a worker to report back, then service the connection:
        pika sends heartbeats only when asked, and a broker that misses two of them drops
        the connection, and with it every delivery not acked yet."""
        self._wake.wait(seconds)
        self._wake.clear()
        try:
            self.client.channel.connection.process_data_events(time_limit=0)
        except Exception:  # the next get (or ack) finds out and reconnects
            log.debug("processing connection events failed", exc_info=True)

    def _room(self) -> bool:
        return self._in_flight < self.max_in_flight and not self.work.full()

    def _fetch(self) -> bool:
        fetched = False
        while self._room() and not self.stopping.is_set():
            message = self._get()
            if message is None:
                break
            fetched = True
            self._in_flight += 1
            if not message.body.strip() or message.body.strip() == "test":
                self._settle(message, Outcome(Result.MISSING, "empty or test message"))
                continue
            job = Job(crash_id=message.crash_id, ruleset=message.ruleset,
                      reason=message.header(REASON_HEADER))
            self.work.put(InFlight(message, job))
        return fetched

    def _get(self) -> Message | None:
        for name in self.schedule.next_turn():
            message = self.client.get(name)
            if message is not None:
                return message
        return None

    def _start_due_retries(self) -> bool:
        started = False
        while not self.work.full():
            item = self.retries.pop_due()
            if item is None:
                break
            if self._stale(item.message):
                self._in_flight -= 1  # its delivery died with the connection: redelivered
                continue
            self.work.put(item)
            started = True
        return started

    def _stale(self, message: Message) -> bool:
        return message.connection_generation != self.client.generation

    def _finish_done(self) -> bool:
        finished = False
        while True:
            try:
                item, outcome = self.done.get_nowait()
            except queue.Empty:
                return finished
            finished = True
            self._settle(item.message, outcome, item)

    def _settle(self, message: Message, outcome: Outcome, item: InFlight | None = None) -> None:
        if self.on_result is not None:
            self.on_result(message.queue, outcome)
        if self._stale(message):
            # Its connection dropped: the broker has already given it to someone again.
            log.info("%s: delivery outlived its connection; left to the redelivery",
                     message.body)
            self._in_flight -= 1
            return
        if outcome.result is Result.RETRY and self.stopping.is_set():
            self.client.nack(message, requeue=True)  # another worker takes it from here
            self._in_flight -= 1
            return
        transient = outcome.result is Result.RETRY  # a backend kept failing: may work later
        if outcome.result is Result.RETRY and item is not None:
            attempt = item.job.attempt
            if attempt < self.retry.attempts:
                delay = self.retry.delay(attempt)
                log.info("crash %s: retry %d in %.1fs (%s)", item.job.crash_id, attempt + 1,
                         delay, outcome.reason)
                item.job.attempt += 1
                self.retries.add(item, delay)
                return
            outcome = Outcome(Result.FAILED, f"gave up after {attempt} attempts: "
                                             f"{outcome.reason}")
        if outcome.result is Result.FAILED:
            attempts = item.job.attempt if item is not None else 1
            try:
                self.client.publish(self.names.failed, message.body,
                                    failure_headers(message, outcome.reason, attempts,
                                                    transient))
            except QueueError as exc:
                # Not acked: the broker will deliver it again once the connection is back.
                log.error("cannot publish %s to the failed queue: %s", message.body, exc)
                self._in_flight -= 1
                return
            log.warning("crash %s sent to %s: %s", message.body, self.names.failed,
                        outcome.reason)
        if not self.client.ack(message):
            log.info("ack of %s failed: the broker will deliver it again", message.body)
        self._in_flight -= 1

    def _shutdown(self) -> None:
        """Give back what nobody started, finish what workers hold, ack it, and return."""
        log.info("stopping: finishing %d crashes in hand", self._in_flight)
        given_back = self.retries.drain()
        while True:
            try:
                item = self.work.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                given_back.append(item)
        for item in given_back:
            self.client.nack(item.message, requeue=True)
            self._in_flight -= 1
        while self._in_flight > 0:
            if not self._finish_done():
                self._wait(0.1)
        log.info("stopped")

    # -- worker threads -------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            item = self.work.get()
            if item is _STOP:
                return
            try:
                self.processor.start(item.job, functools.partial(self._report, item))
            except BaseException as exc:  # start() reports every failure; belt and braces
                log.exception("worker failed")
                self._report(item, Outcome(Result.FAILED, f"{type(exc).__name__}: {exc}"))

    def _report(self, item: InFlight, outcome: Outcome) -> None:
        """A crash's outcome, from a worker or the saver: settled by the consumer thread."""
        self.done.put((item, outcome))
        self._wake.set()


def run_until_stopped(consumer: Consumer, signals: Sequence[int]) -> None:
    """Run ``consumer`` in this (main) thread; the signals ask it to stop gracefully."""
    import signal

    def handler(signum, frame):
        log.info("received signal %d", signum)
        consumer.stop()

    for signum in signals:
        signal.signal(signum, handler)
    started = time.monotonic()
    consumer.run()
    log.info("ran for %.0fs", time.monotonic() - started)
