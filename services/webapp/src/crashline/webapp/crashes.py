"""Reading and requeueing crashes for callers of any kind (API endpoints and pages alike), so
redaction, priority requests and reprocessing have one home."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from crashline.common.storage import CrashNotFound
from crashline.webapp.auth.principal import VIEW_PII, Principal
from crashline.webapp.errors import unavailable
from crashline.webapp.priority import PriorityRequests
from crashline.webapp.redaction import AnnotationPolicy, redact_processed, redact_raw
from crashline.webapp.services import Services

log = logging.getLogger(__name__)


class CrashPending(Exception):
    """The raw crash is stored but not processed yet; it has been queued with priority."""

    def __init__(self, crash_id: str):
        super().__init__(f"Crash {crash_id} is not processed yet")
        self.crash_id = crash_id


class CrashesMissing(Exception):
    """Some crashes asked for are not in crash storage."""

    def __init__(self, crash_ids: list[str]):
        super().__init__(f"Not in crash storage: {', '.join(crash_ids)}")
        self.crash_ids = crash_ids


class CrashService:
    def __init__(self, services: Services, priority: PriorityRequests,
                 annotations: AnnotationPolicy):
        self.services = services
        self.priority = priority
        self.annotations = annotations

    def processed(self, crash_id: str, principal: Principal) -> dict:
        """The processed crash as ``principal`` may see it. Raises :class:`CrashPending`
        (after queuing it with priority) or ``CrashNotFound``."""
        storage = self.services.storage
        try:
            processed = storage.get_processed_crash(crash_id)
        except CrashNotFound:
            if storage.has_raw_crash(crash_id):
                self.priority.request(crash_id)
                raise CrashPending(crash_id) from None
            raise
        return processed if principal.has(VIEW_PII) else redact_processed(processed)

    def raw(self, crash_id: str, principal: Principal) -> dict:
        """The annotations as ``principal`` may see them; ``CrashNotFound`` if not stored."""
        raw = self.services.storage.get_raw_crash(crash_id)
        return raw if principal.has(VIEW_PII) else redact_raw(raw, self.annotations)

    def dump_names(self, crash_id: str) -> list[str]:
        return self.services.storage.get_dump_names(crash_id)

    def reprocess(self, bodies: Iterable[str]) -> list[str]:
        """Queue ``<crash id>[:<ruleset>]`` messages for reprocessing (each once); raises
        :class:`CrashesMissing` before queuing anything if a crash is not stored."""
        bodies = list(dict.fromkeys(bodies))
        storage = self.services.storage
        missing = [b.partition(":")[0] for b in bodies
                   if not storage.has_raw_crash(b.partition(":")[0])]
        if missing:
            raise CrashesMissing(missing)
        queue = self.services.queues.reprocessing
        try:
            for body in bodies:
                self.services.publisher.publish(queue, body)
        except Exception as exc:  # pika and QueueError alike: nothing sure was queued
            log.warning("publishing to %s failed: %s", queue, exc)
            raise unavailable("The queue") from None
        return bodies
