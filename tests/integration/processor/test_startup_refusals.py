"""A processor started while crash storage or RabbitMQ is down refuses to start with one clear
line and exit code 2, as the collector does, instead of dying on a traceback: whatever
restarts it (systemd, Kubernetes, the fault matrix's supervisor) tries again."""

from __future__ import annotations

import socket

import pytest
from harness.services import ServiceProcess, free_port
from processor_support.workers import METRICS_PORTS

pytestmark = pytest.mark.integration


def closed_port() -> int:
    with socket.socket() as s:  # bound, never listening: connections are refused
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(worker_env, tmp_path, **overrides) -> ServiceProcess:
    port = free_port(METRICS_PORTS)
    return ServiceProcess("crashline-processor", {
        **worker_env, "CRASHLINE_METRICS_PORT": str(port), **overrides}, port,
        tmp_path / "processor.log")


@pytest.mark.parametrize("down", ["storage", "rabbitmq"])
def test_a_backend_down_at_start_is_a_clear_refusal(down, worker_env, tmp_path):
    port = closed_port()
    overrides = ({"CRASHLINE_STORAGE_BACKEND": "s3",
                  "CRASHLINE_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
                 if down == "storage" else
                 {"CRASHLINE_RABBITMQ_URL": f"amqp://guest:guest@127.0.0.1:{port}/%2F"})
    processor = start(worker_env, tmp_path, **overrides)
    assert processor.proc.wait(120) == 2
    logs = processor.logs()
    what = "crash storage does not work" if down == "storage" else "cannot connect to RabbitMQ"
    assert f"refusing to start: {what}" in logs
    assert f"127.0.0.1:{port}" in logs
    # No uncaught exception (pika logs its own failed connection attempts, tracebacks too)
    assert "crashline/processor/main.py" not in logs
