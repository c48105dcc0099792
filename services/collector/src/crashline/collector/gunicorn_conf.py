"""gunicorn configuration for the collector, from ``CRASHLINE_COLLECTOR_*`` settings.

``crashline-collector`` uses it; by hand:
``gunicorn -c python:crashline.collector.gunicorn_conf 'crashline.collector.app:create_app()'``
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile

from crashline.collector.settings import get_settings

# Several workers share /metrics through prometheus-client's multiprocess mode; the folder
# must be known before prometheus_client is first imported (here, in the master).
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="crashline-collector-metrics-")

_settings = get_settings()

bind = _settings.collector_bind
workers = _settings.collector_workers
worker_class = "crashline.collector.worker.CollectorWorker"
worker_connections = _settings.collector_worker_connections
keepalive = _settings.collector_keepalive
timeout = 120  # worker heartbeat; a request's own waits are bounded by its deadlines
graceful_timeout = 30
errorlog = "-"
loglevel = _settings.log_level.lower()
proc_name = "crashline-collector"
control_socket_disable = True  # several gunicorns run on one machine (tests, make run)


def on_starting(server) -> None:
    """Refuse to start unless crash storage and the queue both work."""
    from crashline.common.logs import setup_logging

    setup_logging(_settings.service_name, _settings.log_level, _settings.log_format)
    log = logging.getLogger("crashline.collector.startup")
    problems = _self_check_in_a_child()
    if problems:
        for problem in problems:
            log.critical("refusing to start: %s", problem)
        sys.exit(1)
    log.info("self-check passed: crash storage and RabbitMQ work; serving on %s", bind)


def _self_check_in_a_child(timeout: float = 120) -> list[str]:
    """Run the checks in a forked child, so that the master never imports boto3, urllib3 or
    pika: the gevent workers it forks patch ``ssl`` when they start, and names those modules
    had already taken from ``ssl`` would stay unpatched (a RecursionError with S3)."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_self_check, args=(sender,), name="self-check")
    child.start()
    sender.close()
    try:
        if receiver.poll(timeout):
            return receiver.recv()
        return [f"the self-check did not finish within {timeout:.0f}s"]
    except EOFError:
        return [f"the self-check died (exit code {child.exitcode})"]
    finally:
        child.join(5)
        if child.is_alive():
            child.kill()


def _self_check(sender) -> None:
    from crashline.collector.app import self_check
    from crashline.collector.throttler import ThrottleConfigError, load_rules

    problems = self_check(_settings)
    try:
        load_rules(_settings.collector_throttle_rules)
    except ThrottleConfigError as exc:
        problems.append(f"throttle rules: {exc}")
    sender.send(problems)
    sender.close()


def post_fork(server, worker) -> None:
    from crashline.common import gunicorn_errors

    gunicorn_errors.install()  # gunicorn's own 400/414/431 answers in JSON, not HTML


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
