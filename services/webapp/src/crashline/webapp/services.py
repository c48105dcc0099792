"""The backends the webapp talks to, created on first use (a backend that is down must not
stop the app from starting or from answering what does not need it)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from crashline.common.database import Database, database_from_settings
from crashline.common.queue import QueueNames, ThreadLocalPublisher
from crashline.common.search import SearchBackend, search_from_settings
from crashline.common.storage import CrashStorage, storage_from_settings
from crashline.webapp.settings import WebappSettings

T = TypeVar("T")


class Lazy(Generic[T]):
    def __init__(self, factory: Callable[[], T]):
        self._factory = factory
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._factory()
        return self._value


class Services:
    def __init__(self, settings: WebappSettings, *, db: Database | None = None,
                 search: SearchBackend | None = None, storage: CrashStorage | None = None,
                 publisher=None):
        self.settings = settings
        self.queues = QueueNames(settings.queue_prefix)
        self.db = db or database_from_settings(settings)
        self.search = search or search_from_settings(settings)
        self._storage = Lazy(lambda: storage or storage_from_settings(settings))
        self.publisher = publisher or ThreadLocalPublisher(settings.rabbitmq_url, self.queues)

    @property
    def storage(self) -> CrashStorage:
        return self._storage.get()
