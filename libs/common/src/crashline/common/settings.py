"""Settings shared by every service.

Every setting is an environment variable prefixed ``CRASHLINE_`` with a default that fits the
local stack (``make run``). Services subclass :class:`CommonSettings` to add their own.
"""

from __future__ import annotations

import json
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field, SecretStr
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def split_list(value: object) -> object:
    """Lists come from the environment as comma-separated text (a JSON list works too)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


# A list setting: ``CRASHLINE_X=a,b`` or ``CRASHLINE_X=["a", "b"]``.
CommaList = Annotated[list[str], NoDecode, BeforeValidator(split_list)]


class StorageBackend(StrEnum):
    LOCAL = "local"
    S3 = "s3"


class SearchEngine(StrEnum):
    OPENSEARCH = "opensearch"
    ELASTICSEARCH = "elasticsearch"


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRASHLINE_", extra="ignore")

    # Identity, logging
    service_name: str = "crashline"
    log_level: str = "INFO"
    log_format: str = Field("json", pattern="^(json|text)$")

    # Crash storage
    storage_backend: StorageBackend = StorageBackend.LOCAL
    storage_path: Path = Path(".local/data/crashes")
    storage_fsync: bool = True  # an acknowledged crash must survive a power cut
    s3_bucket: str = "crashline-crashes"
    s3_endpoint_url: str | None = "http://127.0.0.1:5000"
    s3_region: str = "us-east-1"
    s3_access_key_id: str = "testing"
    s3_secret_access_key: SecretStr = SecretStr("testing")
    s3_create_bucket: bool = True  # local stack and tests; production buckets exist already

    # Queue
    rabbitmq_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    queue_prefix: str = "crashline"

    # Search engine
    search_engine: SearchEngine = SearchEngine.ELASTICSEARCH
    search_url: str = "http://127.0.0.1:9200"
    search_index_template: str = "crashline-%Y%W"
    search_timeout: float = 30.0
    # How long a starting processor or webapp waits for the engine to answer before it
    # gives up with an error (a wrong product or major version fails at once).
    search_startup_timeout: float = Field(60.0, ge=0)
    search_retention_weeks: int = Field(26, ge=1)
    # New weekly indices: one shard, no replica fit one node; give a cluster replicas.
    search_index_shards: int = Field(1, ge=1)
    search_index_replicas: int = Field(0, ge=0)

    # PostgreSQL
    database_url: str = "postgresql://crashline:crashline@127.0.0.1:5432/crashline"
    database_pool_min: int = Field(1, ge=0)
    database_pool_max: int = Field(8, ge=1)

    # Signature generation
    signature_lists_dir: Path | None = None

    # Which annotations are public (crashline.common.annotations): a TOML file that adds to
    # (or replaces) the shipped defaults, and names added or protected on top of it.
    annotations_file: Path | None = None
    public_annotations: CommaList = Field(default_factory=list)
    protected_annotations: CommaList = Field(default_factory=list)

    # Crashes that missed symbols uploaded since are reprocessed if they are at most this many
    # days old; at most this many of them wait in the reprocessing queue at once (more are
    # queued as it empties, and none while fresh crashes wait).
    symbols_reprocess_days: int = Field(7, ge=1)
    symbols_reprocess_max_queued: int = Field(1000, ge=1)

    # Metrics HTTP server for services without their own web server
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9101


@lru_cache(maxsize=1)
def get_settings() -> CommonSettings:
    """The process-wide common settings (services cache their own subclass the same way)."""
    return CommonSettings()
