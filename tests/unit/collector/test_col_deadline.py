"""The whole-body deadline: one time budget over every read of a request body."""

from __future__ import annotations

import gevent
import pytest

from crashline.collector.deadline import Deadline, DeadlineExceeded


def test_a_blocked_read_is_interrupted_at_the_deadline():
    deadline = Deadline(0.2)
    with pytest.raises(DeadlineExceeded, match="within 0.2s"):
        deadline.call(gevent.sleep, 30)  # a read that would block: gevent can interrupt it


def test_reads_share_one_budget():
    now = [100.0]
    deadline = Deadline(10, clock=lambda: now[0])
    assert deadline.call(lambda n: b"x" * n, 3) == b"xxx"
    now[0] += 9.5
    assert deadline.remaining() == pytest.approx(0.5)
    now[0] += 1
    with pytest.raises(DeadlineExceeded):
        deadline.call(lambda n: b"x" * n, 3)  # every read came quickly; the total did not


def test_other_timeouts_pass_through():
    inner = gevent.Timeout(0.05)
    inner.start()
    try:
        with pytest.raises(gevent.Timeout) as info:
            Deadline(30).call(gevent.sleep, 5)
        assert info.value is inner
    finally:
        inner.close()
