"""The faults of the matrix and the order they come in.

A :class:`Fault` does something bad for a while and then undoes it; a :class:`Scene` is
faults at the same time (one, or several combined); the schedule is scenes one after
another with calm between them. Every fault's duration is multiplied by the run's
``scale`` (1 in the full run; the slice in ``make test`` runs shorter ones), except what
takes its own time (a backend's restart).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from backends import PrivateBackends
from disk import SmallDisk
from fleet import Fleet


@dataclass
class Target:
    """What faults act on."""

    backends: PrivateBackends
    fleet: Fleet
    processors: list[str]
    disk: SmallDisk | None = None  # local storage on a disk of its own


@dataclass
class Fault:
    name: str
    act: Callable[[Target, float], None]  # (target, seconds)
    seconds: float = 0.0  # before scaling

    def run(self, target: Target, scale: float) -> None:
        self.act(target, self.seconds * scale)


def _sleep(seconds: float) -> None:
    time.sleep(max(0.0, seconds))


# -- the faults -----------------------------------------------------------------------------
Action = Callable[[Target], None]


def outage(name: str, seconds: float, begin: Action, end: Action) -> Fault:
    """``begin``, ``seconds`` (scaled), then ``end``."""
    def act(target: Target, secs: float) -> None:
        begin(target)
        _sleep(secs)
        end(target)
    return Fault(name, act, seconds)


def backend_stopped(component: str, seconds: float, name: str = "") -> Fault:
    """``stack.sh stop``, a while, ``stack.sh start`` (which waits until it answers)."""
    label = {"search": "search engine"}.get(component, component)
    return outage(name or f"{label} stopped {seconds:g}s", seconds,
                  lambda t: t.backends.stop_component(component),
                  lambda t: t.backends.start_component(component))


def postgres_restarted() -> Fault:
    return backend_stopped("postgres", 3.0, "PostgreSQL restarted")


def s3_unreachable(seconds: float) -> Fault:
    """The S3 endpoint's port closed: connections refused, open ones cut (see backends)."""
    return outage(f"S3 endpoint stopped {seconds:g}s", seconds,
                  lambda t: t.backends.s3_front.refuse(), lambda t: t.backends.s3_front.up())


def search_partitioned(seconds: float) -> Fault:
    """Processors to search engine: connections stay open and carry nothing."""
    return outage(f"partition processor/search engine {seconds:g}s", seconds,
                  lambda t: t.backends.search_front.stall(),
                  lambda t: t.backends.search_front.up())


def disk_full(seconds: float) -> Fault:
    return outage(f"local disk full {seconds:g}s", seconds, lambda t: t.disk.fill(),
                  lambda t: t.disk.free())


def disk_read_only(seconds: float) -> Fault:
    return outage(f"local disk read-only {seconds:g}s", seconds,
                  lambda t: t.disk.read_only(), lambda t: t.disk.writable())


def processors_killed(seconds: float, every: float = 3.0) -> Fault:
    def act(target: Target, secs: float) -> None:
        chooser = random.Random(len(target.processors))
        end = time.monotonic() + secs
        while time.monotonic() < end:
            target.fleet.kill(chooser.choice(target.processors))
            _sleep(min(every, end - time.monotonic()))
    return Fault(f"a processor SIGKILLed every {every:g}s for {seconds:g}s", act, seconds)


def collector_restarted() -> Fault:
    """A graceful restart under load (a deployment): SIGTERM, then a new collector."""
    def act(target: Target, _secs: float) -> None:
        target.fleet.restart("collector")
        target.fleet.wait_ready("collector")
    return Fault("collector restarted", act)


def collector_killed() -> Fault:
    """SIGKILL mid-requests; the supervisor starts it again a second later."""
    def act(target: Target, _secs: float) -> None:
        target.fleet.kill("collector")
        _sleep(1.5)
        target.fleet.wait_ready("collector")
    return Fault("collector SIGKILLed", act)


# -- the schedule ---------------------------------------------------------------------------
@dataclass
class Scene:
    faults: list[Fault]
    name: str = ""
    began: float = 0.0
    ended: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.name or " + ".join(f.name for f in self.faults)

    def play(self, target: Target, scale: float) -> None:
        self.began = time.monotonic()

        def run(fault: Fault) -> None:
            try:
                fault.run(target, scale)
            except Exception as exc:  # a fault that could not be undone is the run's failure
                self.errors.append(f"{fault.name}: {exc}")

        threads = [threading.Thread(target=run, args=(f,), name=f.name) for f in self.faults]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.ended = time.monotonic()


def schedule(storage: str) -> list[Scene]:
    """The faults for crash storage on ``storage``: on S3 (the production setup) every
    fault alone, the issue's list in its order, then combined ones; on a local disk of its
    own, the disk's faults alone and combined with others (the rest does not depend on where
    crashes are stored, and the S3 matrix has it)."""
    if storage == "local":
        return [
            Scene([disk_full(30)]),
            Scene([disk_read_only(30)]),
            Scene([disk_full(30), processors_killed(30), postgres_restarted()]),
            Scene([disk_read_only(30), collector_killed(), backend_stopped("rabbitmq", 15)]),
        ]
    return [
        Scene([backend_stopped("rabbitmq", 20)]),
        Scene([s3_unreachable(30)]),
        Scene([processors_killed(30)]),
        Scene([backend_stopped("search", 20)]),
        Scene([postgres_restarted()]),
        Scene([collector_restarted()]),
        Scene([collector_killed()]),
        Scene([search_partitioned(30)]),
        # Combined
        Scene([backend_stopped("rabbitmq", 20), backend_stopped("search", 20)]),
        Scene([s3_unreachable(30), processors_killed(30), postgres_restarted()]),
        Scene([search_partitioned(30), collector_killed(), backend_stopped("rabbitmq", 15)]),
    ]


def play(scenes: list[Scene], target: Target, scale: float, calm: float,
         say: Callable[[str], None]) -> None:
    for scene in scenes:
        say(f"fault: {scene.title}")
        scene.play(target, scale)
        say(f"  over after {scene.ended - scene.began:.0f}s"
            + (f"; errors: {scene.errors}" if scene.errors else ""))
        _sleep(calm * scale)
