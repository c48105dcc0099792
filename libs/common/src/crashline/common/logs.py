"""Structured logging: one JSON object per line, with the crash id in context when known."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import sys
from collections.abc import Iterator

crash_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("crash_id", default=None)

_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        crash_id = crash_id_var.get()
        if crash_id:
            entry["crash_id"] = crash_id
        # Extra fields passed with ``log.info(..., extra={...})``.
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def setup_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(service))
    else:
        text = f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s"
        handler.setFormatter(logging.Formatter(text))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("pika", "botocore", "boto3", "urllib3", "opensearch", "elastic_transport"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@contextlib.contextmanager
def crash_context(crash_id: str) -> Iterator[None]:
    """Tag every log line inside the block with ``crash_id``."""
    token = crash_id_var.set(crash_id)
    try:
        yield
    finally:
        crash_id_var.reset(token)
