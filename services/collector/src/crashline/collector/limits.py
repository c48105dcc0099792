"""What one request may send (from the ``CRASHLINE_COLLECTOR_*`` settings)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Limits:
    max_body_size: int = 25 * 1024 * 1024
    max_inflated_size: int = 100 * 1024 * 1024
    max_compression_ratio: float = 20.0
    max_annotations: int = 1000
    max_annotation_size: int = 2 * 1024 * 1024
    max_annotations_total_size: int = 8 * 1024 * 1024
    max_json_depth: int = 20
    max_json_elements: int = 20_000
    max_dumps: int = 100
    max_parts: int = 2000
    max_part_header_size: int = 16 * 1024
    # per worker, shared by its requests (see memory.py)
    dump_memory: int = 16 * 1024 * 1024
    annotation_memory: int = 32 * 1024 * 1024
    spool_dir: Path | None = None
    read_chunk_size: int = 256 * 1024

    @classmethod
    def from_settings(cls, settings) -> Limits:
        return cls(
            max_body_size=settings.collector_max_body_size,
            max_inflated_size=settings.collector_max_inflated_size,
            max_compression_ratio=settings.collector_max_compression_ratio,
            max_annotations=settings.collector_max_annotations,
            max_annotation_size=settings.collector_max_annotation_size,
            max_annotations_total_size=settings.collector_max_annotations_total_size,
            max_json_depth=settings.collector_max_json_depth,
            max_json_elements=settings.collector_max_json_elements,
            max_dumps=settings.collector_max_dumps,
            max_parts=settings.collector_max_parts,
            max_part_header_size=settings.collector_max_part_header_size,
            dump_memory=settings.collector_dump_memory,
            annotation_memory=settings.collector_annotation_memory,
            spool_dir=settings.collector_spool_dir,
            read_chunk_size=settings.collector_read_chunk_size,
        )
