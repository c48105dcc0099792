"""What a job is, and what it is given when it runs."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from crashline.common.database import Database
from crashline.common.queue import RabbitMQ, queue_from_settings
from crashline.common.search import SearchBackend, search_from_settings
from crashline.common.storage import CrashStorage, storage_from_settings
from crashline.crontabber.schedule import Schedule
from crashline.crontabber.settings import CrontabberSettings


class JobError(Exception):
    """A job could not do all of its work; the message says what is left."""


def _always_enabled(settings: CrontabberSettings) -> str | None:
    return None


@dataclass(frozen=True)
class Job:
    name: str
    schedule: Schedule
    run: Callable[[JobContext], Mapping[str, Any] | None]
    description: str
    backfill: bool = False  # run every missed slot, oldest first
    depends_on: tuple[str, ...] = ()  # jobs whose failure makes this one wait
    # Why the job is switched off under these settings (None: it is on).
    disabled: Callable[[CrontabberSettings], str | None] = _always_enabled


class Backends:
    """The backends jobs use, each made on first use and shared by the jobs of a process
    (the RabbitMQ client is not thread-safe: jobs use it from the runner's thread only)."""

    def __init__(self, settings: CrontabberSettings, db: Database):
        self.settings = settings
        self.db = db
        self._lock = threading.Lock()
        self._made: dict[str, Any] = {}

    def _get(self, name: str, factory: Callable[[], Any]) -> Any:
        with self._lock:
            if name not in self._made:
                self._made[name] = factory()
            return self._made[name]

    @property
    def storage(self) -> CrashStorage:
        return self._get("storage", lambda: storage_from_settings(self.settings))

    @property
    def queue(self) -> RabbitMQ:
        return self._get("queue", lambda: queue_from_settings(self.settings))

    @property
    def search(self) -> SearchBackend:
        return self._get("search", lambda: search_from_settings(self.settings))

    def close(self) -> None:
        queue = self._made.pop("queue", None)
        if queue is not None:
            queue.close()


@dataclass
class JobContext:
    """One run of a job: the slot it runs for and the slot of its previous success."""

    settings: CrontabberSettings
    backends: Backends
    slot: dt.datetime
    last_success: dt.datetime | None = None
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))

    @property
    def db(self) -> Database:
        return self.backends.db

    def now(self) -> dt.datetime:
        return self.clock()
