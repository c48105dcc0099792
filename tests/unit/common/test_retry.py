"""The shared back-off: its schedule, and a differential test against tenacity."""

from __future__ import annotations

import dataclasses

import pytest
import tenacity
from hypothesis import given
from hypothesis import strategies as st

from crashline.common.queue import QueueError, RabbitMQ
from crashline.common.retry import Backoff


class Flaky(Exception):
    pass


class Other(Exception):
    pass


def failing(times: int, error: type[Exception] = Flaky):
    """A call that raises ``error`` ``times`` times, then returns how often it was called."""
    calls = []

    def call():
        calls.append(1)
        if len(calls) <= times:
            raise error(f"failure {len(calls)}")
        return len(calls)

    return call, calls


def test_delays_double_up_to_the_maximum():
    backoff = Backoff(10, 1.0, 10.0)
    assert [backoff.delay(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    assert backoff.delay(10**6) == 10.0  # no overflow however far it goes


def test_run_sleeps_between_attempts_never_after_the_last():
    sleeps = []
    backoff = Backoff(3, 0.1, 0.15, sleep=sleeps.append)
    call, calls = failing(2)
    assert backoff.run(call, (Flaky,), what="x") == 3
    assert sleeps == [0.1, 0.15]
    sleeps.clear()
    call, calls = failing(5)
    with pytest.raises(Flaky, match="failure 3"):
        backoff.run(call, (Flaky,), what="x")
    assert len(calls) == 3 and sleeps == [0.1, 0.15]


def test_other_errors_are_not_retried_and_each_retry_is_reported():
    retried = []
    backoff = Backoff(5, 0, 0, sleep=lambda s: None)
    call, calls = failing(1, Other)
    with pytest.raises(Other):
        backoff.run(call, (Flaky,), what="x", on_retry=retried.append)
    assert len(calls) == 1 and retried == []
    call, calls = failing(2)
    backoff.run(call, (Flaky,), what="x", on_retry=retried.append)
    assert [str(e) for e in retried] == ["failure 1", "failure 2"]


def test_at_least_one_attempt():
    with pytest.raises(ValueError):
        Backoff(0, 1, 1)


def test_connecting_to_rabbitmq_does_not_wait_after_the_last_attempt():
    client = RabbitMQ("amqp://guest:guest@127.0.0.1:1/%2F", connect_attempts=3,
                      retry_delay=0.5)
    sleeps = []
    client.connect_backoff = dataclasses.replace(client.connect_backoff, sleep=sleeps.append)
    with pytest.raises(QueueError, match="127.0.0.1:1"):
        client.connect()
    assert sleeps == [0.5, 1.0]


@given(attempts=st.integers(1, 8), first=st.floats(0, 5), maximum=st.floats(0, 20),
       failures=st.integers(0, 10))
def test_same_calls_and_waits_as_tenacity(attempts, first, maximum, failures):
    """Differential: tenacity's stop-after-attempt and exponential wait, the same policy."""
    ours_sleeps: list[float] = []
    ours_call, ours_calls = failing(failures)
    try:
        ours = Backoff(attempts, first, maximum, sleep=ours_sleeps.append).run(
            ours_call, (Flaky,), what="x")
    except Flaky as exc:
        ours = str(exc)

    theirs_sleeps: list[float] = []
    theirs_call, theirs_calls = failing(failures)
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(attempts),
        wait=tenacity.wait_exponential(multiplier=first, min=0, max=maximum),
        retry=tenacity.retry_if_exception_type(Flaky), reraise=True,
        sleep=theirs_sleeps.append)
    try:
        theirs = retrying(theirs_call)
    except Flaky as exc:
        theirs = str(exc)

    assert (ours, len(ours_calls), ours_sleeps) == (theirs, len(theirs_calls), theirs_sleeps)

