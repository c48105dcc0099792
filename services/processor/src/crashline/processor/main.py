"""``crashline-processor``: run a processor worker until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys

from crashline.common.health import serve_health
from crashline.common.logs import setup_logging
from crashline.common.queue import QueueError
from crashline.common.search import SearchError
from crashline.common.storage import StorageError
from crashline.processor import metrics
from crashline.processor.app import build_consumer, build_processor
from crashline.processor.consumer import run_until_stopped
from crashline.processor.settings import ProcessorSettings

log = logging.getLogger("crashline.processor")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="crashline-processor",
        description="Process crashes from the queues until SIGTERM (settings: CRASHLINE_*).")
    parser.add_argument("--workers", type=int, help="worker threads (CRASHLINE_PROCESSOR_WORKERS)")
    parser.add_argument("--metrics-port", type=int, help="health/metrics port "
                        "(CRASHLINE_METRICS_PORT; 0 picks a free one)")
    args = parser.parse_args(argv)

    settings = ProcessorSettings()
    overrides = {}
    if args.workers:
        overrides["processor_workers"] = args.workers
    if args.metrics_port is not None:
        overrides["metrics_port"] = args.metrics_port
    if overrides:
        settings = settings.model_copy(update=overrides)
    setup_logging(settings.service_name, settings.log_level, settings.log_format)

    try:
        app = build_processor(settings)
    except StorageError as exc:
        # Like the collector: a clear line and exit 2, not a traceback; whatever restarts
        # the processor (systemd, Kubernetes) tries again.
        log.error("refusing to start: crash storage does not work: %s", exc)
        return 2
    version = app.stackwalker.version()
    if version == "unknown":
        log.error("%s cannot be run: install it (deploy/local/install.sh stackwalk) or set "
                  "CRASHLINE_STACKWALKER_COMMAND", settings.stackwalker_command)
        return 2
    try:
        # A crash taken from the queue now could only fail and be retried: find out first
        # whether the engine is there, and the one we were set up for.
        engine = app.search.wait_until_ready(settings.search_startup_timeout)
    except SearchError as exc:
        log.error("the search engine does not work: %s", exc)
        return 2
    consumer = build_consumer(app)
    try:
        consumer.client.connect()
    except QueueError as exc:
        log.error("refusing to start: %s", exc)
        return 2
    # What exists now (modules, clients, settings) lives as long as the process: out of the
    # garbage collector's sight, its full collections walk only the crashes in flight.
    gc.freeze()
    metrics.IN_FLIGHT.set_function(lambda: consumer.in_flight)
    try:
        serve_health(settings.metrics_host, settings.metrics_port, "crashline-processor",
                     app.checks, lambda: {"in_flight": consumer.in_flight})
    except OSError as exc:
        log.error("cannot serve health on %s:%d: %s", settings.metrics_host,
                  settings.metrics_port, exc)
        return 2
    log.info("processor starting", extra={"stackwalker": version, "search_engine": engine,
                                          "queue_prefix": settings.queue_prefix})
    run_until_stopped(consumer, (signal.SIGTERM, signal.SIGINT))
    app.processor.pipeline.close()
    app.processor.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
