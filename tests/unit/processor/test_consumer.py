"""The consumer's scheduling, ack, retry and failed-queue rules, with a fake broker."""

import collections
import itertools
import threading
import time
from types import SimpleNamespace

from crashline.common.failed import H_ATTEMPTS, H_QUEUE, H_REASON, H_TRANSIENT
from crashline.common.queue import Message, QueueNames
from crashline.common.retry import Backoff
from crashline.processor.consumer import Consumer, WeightedSchedule
from crashline.processor.processor import Outcome, Result

NAMES = QueueNames("t")


class FakeBroker:
    def __init__(self):
        self.names = NAMES
        self.queues = collections.defaultdict(collections.deque)
        self.generation = 1
        self.acked, self.nacked, self.published = [], [], []
        self.tags = itertools.count(1)
        self.channel = SimpleNamespace(connection=SimpleNamespace(
            process_data_events=lambda time_limit=0: None))
        self.gets = []

    def put(self, queue, *bodies):
        self.queues[queue].extend(bodies)

    def connect(self):
        pass

    def close(self):
        pass

    def get(self, queue):
        self.gets.append(queue)
        if not self.queues[queue]:
            return None
        return Message(queue=queue, body=self.queues[queue].popleft(),
                       delivery_tag=next(self.tags), connection_generation=self.generation)

    def ack(self, message):
        self.acked.append(message.body)
        return True

    def nack(self, message, requeue=True):
        self.nacked.append(message.body)
        return True

    def publish(self, queue, body, headers=None):
        self.published.append((queue, body, dict(headers or {})))


class FakeProcessor:
    """Outcomes per crash id: a list consumed one per attempt (the last one repeats)."""

    def __init__(self, outcomes=None, delay=0.0):
        self.outcomes = outcomes or {}
        self.delay = delay
        self.handled = []
        self.started = []
        self.lock = threading.Lock()

    def handle(self, job):
        self.started.append(job.crash_id)
        time.sleep(self.delay)
        with self.lock:
            self.handled.append((job.crash_id, job.attempt))
            plan = self.outcomes.get(job.crash_id, [Result.SAVED])
            result = plan[min(job.attempt, len(plan)) - 1]
        return Outcome(result, reason="because")

    def start(self, job, done):
        done(self.handle(job))


def run_until(consumer, condition, timeout=10):
    thread = threading.Thread(target=consumer.run)
    thread.start()
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    consumer.stop()
    thread.join(timeout)
    assert not thread.is_alive()
    assert condition(), "condition not reached"


def consumer(broker, processor, **kw):
    kw.setdefault("idle_delay", 0.01)
    return Consumer(broker, processor, **kw)


def test_weighted_schedule_gives_5_5_1_and_priority_first():
    schedule = WeightedSchedule(NAMES)
    turns = [schedule.next_turn() for _ in range(22)]
    firsts = collections.Counter(t[0] for t in turns)
    assert firsts == {NAMES.priority: 10, NAMES.standard: 10, NAMES.reprocessing: 2}
    assert turns[0][0] == NAMES.priority
    for turn in turns:  # every turn falls back to all queues, priority before standard
        assert sorted(turn) == sorted([NAMES.priority, NAMES.standard, NAMES.reprocessing])
        rest = [q for q in turn[1:]]
        assert rest == [q for q in (NAMES.priority, NAMES.standard, NAMES.reprocessing)
                        if q != turn[0]]


def test_mass_reprocessing_does_not_starve_fresh_crashes():
    broker = FakeBroker()
    broker.put(NAMES.reprocessing, *[f"r{i}" for i in range(200)])
    broker.put(NAMES.standard, *[f"s{i}" for i in range(20)])
    schedule = WeightedSchedule(NAMES)
    taken = []
    for _ in range(22):
        for queue in schedule.next_turn():
            message = broker.get(queue)
            if message:
                taken.append(message.body[0])
                break
    # all 20 fresh crashes within the first 22 fetches
    assert taken.count("s") == 20


def test_saved_and_missing_are_acked():
    broker = FakeBroker()
    ids = [f"c{i}" for i in range(10)]
    broker.put(NAMES.standard, *ids)
    processor = FakeProcessor({"c3": [Result.MISSING]})
    run_until(consumer(broker, processor, workers=3), lambda: len(broker.acked) == 10)
    assert sorted(broker.acked) == sorted(ids)
    assert broker.published == []


def test_priority_is_fetched_first():
    broker = FakeBroker()
    broker.put(NAMES.standard, "s1")
    broker.put(NAMES.priority, "p1")
    run_until(consumer(broker, FakeProcessor(), workers=1, queue_size=1, max_in_flight=1),
              lambda: len(broker.acked) == 2)
    assert broker.acked == ["p1", "s1"]


def test_transient_failure_is_retried_with_growing_delays_then_saved():
    broker = FakeBroker()
    broker.put(NAMES.standard, "flaky", "fine")
    processor = FakeProcessor({"flaky": [Result.RETRY, Result.RETRY, Result.SAVED]})
    c = consumer(broker, processor, retry=Backoff(5, 0.05, 1.0))
    run_until(c, lambda: "flaky" in broker.acked)
    assert [a for (cid, a) in processor.handled if cid == "flaky"] == [1, 2, 3]
    # the other crash did not wait for the retries
    assert broker.acked.index("fine") < broker.acked.index("flaky")
    assert broker.published == []


def test_gives_up_after_max_attempts_to_the_failed_queue():
    broker = FakeBroker()
    broker.put(NAMES.priority, "doomed")
    processor = FakeProcessor({"doomed": [Result.RETRY]})
    run_until(consumer(broker, processor, retry=Backoff(3, 0.01, 0.02)),
              lambda: broker.acked == ["doomed"])
    assert len(processor.handled) == 3
    ((queue, body, headers),) = broker.published
    assert (queue, body) == (NAMES.failed, "doomed")
    assert headers[H_ATTEMPTS] == 3
    assert headers[H_QUEUE] == NAMES.priority
    assert "gave up after 3 attempts" in headers[H_REASON]
    assert headers[H_TRANSIENT] == "true"  # the failed-crashes job may requeue it later


def test_poison_goes_to_the_failed_queue_at_once():
    broker = FakeBroker()
    broker.put(NAMES.standard, "poison:default")
    processor = FakeProcessor({"poison": [Result.FAILED]})
    run_until(consumer(broker, processor), lambda: broker.acked == ["poison:default"])
    assert broker.published[0][:2] == (NAMES.failed, "poison:default")
    assert broker.published[0][2][H_TRANSIENT] == "false"  # requeueing it would not help
    assert len(processor.handled) == 1


def test_failed_publish_leaves_the_message_unacked():
    broker = FakeBroker()
    broker.put(NAMES.standard, "poison")

    def refuse(*a, **kw):
        from crashline.common.queue import QueueError

        raise QueueError("broker gone")

    broker.publish = refuse
    c = consumer(broker, FakeProcessor({"poison": [Result.FAILED]}))
    run_until(c, lambda: c.in_flight == 0 and broker.gets.count(NAMES.standard) > 1)
    assert broker.acked == []


def test_in_flight_is_bounded_while_a_backend_is_down():
    broker = FakeBroker()
    broker.put(NAMES.standard, *[f"c{i}" for i in range(50)])
    processor = FakeProcessor(collections.defaultdict(lambda: [Result.RETRY]))
    processor.outcomes = {f"c{i}": [Result.RETRY] for i in range(50)}
    c = consumer(broker, processor, queue_size=2, max_in_flight=5,
                 retry=Backoff(100, 10.0, 10.0))
    run_until(c, lambda: len(processor.handled) >= 5, timeout=5)
    assert len(broker.queues[NAMES.standard]) == 45  # the rest wait in the broker
    # stopping gives back the crashes waiting for a retry
    assert sorted(broker.nacked) == sorted(f"c{i}" for i in range(5))


def test_sigterm_finishes_the_crash_in_hand():
    broker = FakeBroker()
    broker.put(NAMES.standard, "slow", "later1", "later2")
    processor = FakeProcessor(delay=0.5)
    c = consumer(broker, processor, workers=1, queue_size=2)
    run_until(c, lambda: processor.started == ["slow"])  # stop while it is being processed
    assert processor.handled == [("slow", 1)]
    assert "slow" in broker.acked
    # nothing is lost: every message is either acked or given back
    assert sorted(broker.acked + broker.nacked + list(broker.queues[NAMES.standard])) == [
        "later1", "later2", "slow"]


def test_test_messages_are_acked_and_dropped():
    broker = FakeBroker()
    broker.put(NAMES.standard, "test")
    processor = FakeProcessor()
    run_until(consumer(broker, processor), lambda: broker.acked == ["test"])
    assert processor.handled == []



def test_stopping_waits_for_the_crashes_being_saved():
    broker = FakeBroker()
    broker.put(NAMES.standard, "a", "b")

    class Saving(FakeProcessor):
        """Hands each crash on at once; its outcome comes later, from another thread."""

        def start(self, job, done):
            self.started.append(job.crash_id)
            threading.Timer(0.3, done, args=(Outcome(Result.SAVED),)).start()

    processor = Saving()
    run_until(consumer(broker, processor, workers=1),
              lambda: sorted(processor.started) == ["a", "b"])
    assert sorted(broker.acked) == ["a", "b"]
    assert broker.nacked == []
