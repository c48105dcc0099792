"""The collector's Falcon application (gunicorn loads ``crashline.collector.app:create_app()``)."""

from __future__ import annotations

import logging
from concurrent.futures import Executor, ThreadPoolExecutor
from importlib import metadata

import falcon

from crashline.collector.disk import FreeDiskGuard
from crashline.collector.limits import Limits
from crashline.collector.mover import CrashMover, Publisher
from crashline.collector.publisher import PublisherPool
from crashline.collector.receipts import ReceiptBook
from crashline.collector.settings import CollectorSettings, get_settings
from crashline.collector.submit import SubmitResource
from crashline.collector.throttler import Throttler
from crashline.common.health import add_health_routes
from crashline.common.logs import setup_logging
from crashline.common.queue import QueueNames, RabbitMQ
from crashline.common.retry import Backoff
from crashline.common.settings import StorageBackend
from crashline.common.storage import CrashStorage, storage_from_settings

log = logging.getLogger(__name__)
DISTRIBUTION = "crashline-collector"


def collector_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


def make_publisher(settings: CollectorSettings) -> PublisherPool:
    # A single connection attempt per publish attempt, because the mover does the retrying
    # (with its own backoff) and must give up in bounded time.
    return PublisherPool(settings.rabbitmq_url, QueueNames(settings.queue_prefix),
                         settings.collector_publish_connections,
                         connect_attempts=1, retry_delay=0)


def make_storage(settings: CollectorSettings) -> CrashStorage:
    return storage_from_settings(settings, executor=storage_executor(settings))


def storage_executor(settings: CollectorSettings) -> Executor | None:
    """Where a worker runs its storage writes (several objects of a crash at once). Under
    gevent, never on the event loop: local-disk writes and fsyncs block the whole worker, so
    they go to native threads (where the fsyncs of concurrent requests also share the
    filesystem's journal commits); S3 calls yield on gevent's sockets, so green threads
    do. Elsewhere (tests, scripts), in the calling thread, one at a time."""
    from gevent import monkey

    if not monkey.is_module_patched("threading"):
        return None
    if settings.storage_backend is StorageBackend.LOCAL:
        from gevent.threadpool import ThreadPoolExecutor as NativeThreadPoolExecutor

        return NativeThreadPoolExecutor(settings.collector_storage_threads)
    return ThreadPoolExecutor(settings.collector_storage_threads)  # green: threading is patched


def self_check(settings: CollectorSettings) -> list[str]:
    """What does not work (empty when storage and queue both do). Run before serving."""
    problems = []
    try:
        storage_from_settings(settings).check()
    except Exception as exc:  # any failure means: do not serve
        problems.append(f"crash storage ({settings.storage_backend.value}) does not work: "
                        f"{type(exc).__name__}: {exc}")
    client = RabbitMQ(settings.rabbitmq_url, QueueNames(settings.queue_prefix),
                      connect_attempts=1, retry_delay=0)
    try:
        client.check()
    except Exception as exc:
        problems.append(f"RabbitMQ does not work: {type(exc).__name__}: {exc}")
    finally:
        client.close()
    return problems


def create_app(
    settings: CollectorSettings | None = None,
    *,
    storage: CrashStorage | None = None,
    publisher: Publisher | None = None,
    throttler: Throttler | None = None,
    configure_logging: bool = True,
) -> falcon.App:
    settings = settings or get_settings()
    if configure_logging:
        setup_logging(settings.service_name, settings.log_level, settings.log_format)
    storage = storage or make_storage(settings)
    publisher = publisher or make_publisher(settings)
    throttler = throttler or Throttler.from_file(settings.collector_throttle_rules)
    mover = CrashMover(
        storage, publisher, QueueNames(settings.queue_prefix).standard,
        save_backoff=Backoff(settings.collector_save_attempts, settings.collector_retry_backoff,
                             settings.collector_retry_backoff_max),
        publish_backoff=Backoff(settings.collector_publish_attempts,
                                settings.collector_retry_backoff,
                                settings.collector_retry_backoff_max),
        receipts=ReceiptBook(storage, settings.collector_receipt_interval),
    )
    submit = SubmitResource(
        limits=Limits.from_settings(settings),
        throttler=throttler,
        mover=mover,
        stage_submitter_token=settings.collector_stage_submitter_token.get_secret_value(),
        body_timeout=settings.collector_body_timeout,
        body_deadline=settings.collector_body_deadline,
        max_drain_size=settings.collector_max_drain_size,
        retry_after=settings.collector_retry_after,
        disk_guard=(FreeDiskGuard(settings.storage_path, settings.collector_min_free_disk)
                    if settings.storage_backend is StorageBackend.LOCAL else None),
        collector_version=collector_version(),
    )
    app = falcon.App(media_type=falcon.MEDIA_JSON)
    app.req_options.strip_url_path_trailing_slash = True
    app.add_route("/submit", submit)
    checks = {"storage": storage.check}
    if hasattr(publisher, "check"):
        checks["queue"] = publisher.check
    add_health_routes(app, DISTRIBUTION, checks)
    log.info("collector ready: storage %s, queue %s, throttle rules %s (%d rules)",
             storage.describe(), mover.queue, settings.collector_throttle_rules,
             len(throttler.rules))
    return app
