"""Collector settings: every one an environment variable ``CRASHLINE_COLLECTOR_*``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr

from crashline.common.settings import CommonSettings

MiB = 1024 * 1024
RULES_DIR = Path(__file__).resolve().parent / "throttle_rules"


class CollectorSettings(CommonSettings):
    service_name: str = "crashline-collector"

    # Server (gunicorn, gevent workers: see worker.py for why). Two workers keep both cores
    # of a small machine busy; each serves up to ``worker_connections`` clients at once, slow
    # ones included, and publishes through a few shared RabbitMQ connections.
    collector_bind: str = "127.0.0.1:8000"
    collector_workers: int = Field(2, ge=1)
    collector_worker_connections: int = Field(1000, ge=1)
    collector_publish_connections: int = Field(4, ge=1)
    # Storage writes one worker runs at once (native threads for local disk: each blocks in
    # write and fsync; green threads for S3). A crash is two steps of writes.
    collector_storage_threads: int = Field(16, ge=1)
    collector_keepalive: int = Field(5, ge=1)  # idle seconds; part of the head deadline
    # Seconds a request head (request line and headers) may take to arrive, after the
    # keep-alive idle time: a slow-headers client is cut off then.
    collector_header_timeout: float = Field(10.0, gt=0)
    # Seconds to wait for the next piece of a request body (408), and seconds the whole body
    # may take (408 too): a client that sends a byte every few seconds passes the first bound
    # and not the second.
    collector_body_timeout: float = Field(10.0, gt=0)
    collector_body_deadline: float = Field(120.0, gt=0)

    # Limits on what a client may send (each refused with a clear reason, nothing stored).
    collector_max_body_size: int = Field(25 * MiB, ge=1)  # bytes on the wire (compressed)
    # A gzip body once inflated, in bytes and as a multiple of its compressed size (over
    # 1 MiB). Measured (README): dumps compress 1.8:1 to 5.5:1; the caps leave room, and one
    # 100 KB request can no longer store 100 MB.
    collector_max_inflated_size: int = Field(100 * MiB, ge=1)
    collector_max_compression_ratio: float = Field(20.0, gt=1)
    collector_max_annotations: int = Field(1000, ge=1)
    collector_max_annotation_size: int = Field(2 * MiB, ge=1)  # one annotation value
    collector_max_annotations_total_size: int = Field(8 * MiB, ge=1)  # JSON part included
    # Annotation JSON (the ``extra`` part), bounded before it is parsed: nesting levels, and
    # containers plus separated items. Real reports are one flat object of strings.
    collector_max_json_depth: int = Field(20, ge=1, le=500)
    collector_max_json_elements: int = Field(20_000, ge=1)
    collector_max_dumps: int = Field(100, ge=1)
    # Parts of any kind (skipped and repeated ones count): 2.8 million empty parts fit in
    # 24 MiB and took 3 s of CPU, all that time holding the worker's event loop.
    collector_max_parts: int = Field(2000, ge=1)
    collector_max_part_header_size: int = Field(16 * 1024, ge=256)
    # Memory one worker may hold for the bodies it is receiving, all its requests together
    # (it serves many at once, slow ones included): dumps past theirs are spooled to
    # temporary files; annotations past theirs get 503 + Retry-After (see memory.py).
    # Storing a dump held in memory joins its pieces: for a moment it takes twice its size.
    collector_dump_memory: int = Field(16 * MiB, ge=0)
    collector_annotation_memory: int = Field(32 * MiB, ge=0)
    collector_spool_dir: Path | None = None
    collector_read_chunk_size: int = Field(256 * 1024, ge=1024)
    # After refusing a request, read and discard up to this much of the rest of its body so
    # the client (still sending) gets the answer rather than a reset connection.
    collector_max_drain_size: int = Field(50 * MiB, ge=0)

    # Throttler
    collector_throttle_rules: Path = RULES_DIR / "default.toml"

    # Stage submitter: may choose the crash id (``uuid`` annotation) with this bearer token.
    collector_stage_submitter_token: SecretStr = SecretStr("")

    # Crash mover: attempts per step and exponential backoff between them.
    collector_save_attempts: int = Field(5, ge=1)
    collector_publish_attempts: int = Field(3, ge=1)
    collector_retry_backoff: float = Field(0.1, ge=0)  # first sleep; doubles up to the max
    collector_retry_backoff_max: float = Field(2.0, ge=0)
    collector_retry_after: int = Field(60, ge=1)  # seconds, sent with 503 when storage fails
    # Receipts of accepted crashes (the ledger's "received") are written out this often.
    collector_receipt_interval: float = Field(1.0, gt=0)
    # Local storage only: with less free disk than this under CRASHLINE_STORAGE_PATH, answer
    # 503 + Retry-After instead of storing (0: never). A full disk would fail every write.
    collector_min_free_disk: int = Field(1024 * MiB, ge=0)


@lru_cache(maxsize=1)
def get_settings() -> CollectorSettings:
    return CollectorSettings()
