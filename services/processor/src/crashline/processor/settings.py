"""Processor settings: every one an environment variable ``CRASHLINE_*`` with a local default."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from crashline.common.settings import CommaList, CommonSettings, split_list


class ProcessorSettings(CommonSettings):
    service_name: str = "crashline-processor"

    # Concurrency: worker threads per process (the CPU work is in stack-walker subprocesses).
    processor_workers: int = Field(4, ge=1)
    # Crashes fetched but not started yet, per process.
    processor_queue_size: int = Field(8, ge=1)
    # Crashes held by one process at once, including ones waiting for a retry. Bounds how
    # much a process takes from the queue while a backend is down.
    processor_max_in_flight: int = Field(64, ge=1)
    # Weighted polling: out of every (p + s + r) fetches, p go to priority, s to standard and
    # r to reprocessing; an empty queue yields its turn to the others in priority order.
    processor_weight_priority: int = Field(5, ge=1)
    processor_weight_standard: int = Field(5, ge=1)
    processor_weight_reprocessing: int = Field(1, ge=1)
    # How long the consumer waits before polling again when every queue was empty.
    processor_idle_delay: float = Field(0.25, gt=0)

    # Transient failures (storage, search engine, PostgreSQL): delays grow from base to max.
    processor_max_attempts: int = Field(10, ge=1)
    processor_retry_base_delay: float = Field(1.0, ge=0)
    processor_retry_max_delay: float = Field(60.0, ge=0)

    # Stack walking
    stackwalker_command: str = "minidump-stackwalk"
    stackwalker_timeout: float = Field(120.0, gt=0)
    stackwalker_memory_limit_mb: int = Field(4096, ge=0)  # 0: no limit
    stackwalker_max_output_mb: int = Field(256, ge=1)
    # Symbols: the symbol store (the webapp's symbol server; empty: none) first, then the
    # folders and symbol servers configured here. Downloads are cached, within a bound.
    symbols_store_url: str = "http://127.0.0.1:8080/symbols/"
    symbols_dirs: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    symbols_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    symbols_cache_dir: Path = Path(".local/data/symbols-cache")
    symbols_cache_max_mb: int = Field(4096, ge=1)
    processor_tmp_dir: Path | None = None  # worker threads' scratch folders; None: the system's

    # A deployment's own rules (package.module:RuleClass, comma-separated), run after the
    # generic ones and before signature generation.
    processor_extra_rules: CommaList = Field(default_factory=list)

    # Search indexing: refresh after each document (tests and tiny installs only).
    processor_search_refresh: bool = False
    # Saves are written in batches of the crashes the workers finish at about the same time
    # (one search request, one PostgreSQL transaction); at most this many crashes each.
    processor_save_batch: int = Field(32, ge=1)

    @field_validator("symbols_dirs", "symbols_urls", mode="before")
    @classmethod
    def _lists(cls, value: object) -> object:
        return split_list(value)


@lru_cache(maxsize=1)
def get_settings() -> ProcessorSettings:
    return ProcessorSettings()
