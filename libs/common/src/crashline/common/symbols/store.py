"""The symbol store: symbol files in crash storage (S3 or local disk, under ``v1/symbols/``)
and a catalog of them in PostgreSQL (what arrived when, for the reprocessing of crashes that
missed them and for the missing-symbols report)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

from psycopg2.extras import execute_values

from crashline.common.database import Database
from crashline.common.storage import ObjectStore
from crashline.common.symbols.archive import Member
from crashline.common.symbols.layout import SymbolId

STORED = "stored"
UNCHANGED = "unchanged"

_UPSERT_SQL = """
INSERT INTO symbol_files (debug_file, debug_id, os, arch, size, crc32, uploaded_at,
                          uploaded_by, scanned_at)
VALUES %s
ON CONFLICT (debug_file, debug_id) DO UPDATE SET
    os = EXCLUDED.os, arch = EXCLUDED.arch, size = EXCLUDED.size, crc32 = EXCLUDED.crc32,
    uploaded_at = EXCLUDED.uploaded_at, uploaded_by = EXCLUDED.uploaded_by, scanned_at = NULL
"""


@dataclass(frozen=True)
class StoredFile:
    symbol: SymbolId
    size: int
    status: str  # STORED, or UNCHANGED: the store held this very file already


class SymbolStore:
    def __init__(self, store: ObjectStore, db: Database, threads: int = 8):
        """``threads``: files written at once (S3 writes are mostly waiting)."""
        self.store = store
        self.db = db
        self.threads = threads

    def save(self, members: Sequence[Member], uploaded_by: str | None,
             now: dt.datetime | None = None) -> list[StoredFile]:
        """Store checked files and catalog them. A file the store holds already, with the same
        size and CRC, is not written again: uploading a file twice keeps one file."""
        now = now or dt.datetime.now(dt.UTC)
        known = self.catalog(m.symbol for m in members)

        def save_one(member: Member) -> StoredFile:
            if known.get(member.symbol) == (member.size, member.crc32) \
                    and self.store.exists(member.symbol.key):
                return StoredFile(member.symbol, member.size, UNCHANGED)
            with member.path.open("rb") as f:
                self.store.put_file(member.symbol.key, f)
            return StoredFile(member.symbol, member.size, STORED)

        with ThreadPoolExecutor(max(1, min(self.threads, len(members)))) as pool:
            results = list(pool.map(save_one, members))
        rows = [(m.symbol.debug_file, m.symbol.debug_id, m.module.os, m.module.arch, m.size,
                 m.crc32, now, uploaded_by, None)
                for m, result in zip(members, results, strict=True) if result.status == STORED]
        if rows:
            with self.db.transaction() as cur:
                execute_values(cur, _UPSERT_SQL, rows)
        return results

    def catalog(self, symbols: Iterable[SymbolId]) -> dict[SymbolId, tuple[int, int]]:
        """(size, crc32) of the catalogued files among ``symbols``."""
        return {SymbolId(r["debug_file"], r["debug_id"]): (r["size"], r["crc32"])
                for r in self._rows((s.debug_file, s.debug_id) for s in symbols)}

    def uploaded(self, modules: Iterable[str]) -> dict[str, dt.datetime]:
        """When the symbols of each ``<debug_file>/<debug_id>`` arrived, for those in the
        store."""
        return {f"{r['debug_file']}/{r['debug_id']}": r["uploaded_at"]
                for r in self._rows(tuple(m.rsplit("/", 1)) for m in modules if "/" in m)}

    def _rows(self, pairs: Iterable[tuple[str, str]]) -> list[dict]:
        pairs = sorted(set(pairs))
        if not pairs:
            return []
        return self.db.fetch_all(
            "SELECT debug_file, debug_id, size, crc32, uploaded_at FROM symbol_files "
            "WHERE (debug_file, debug_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
            ([p[0] for p in pairs], [p[1] for p in pairs]))

    def open(self, symbol: SymbolId) -> tuple[BinaryIO, int]:
        """The stored file and its size; ``CrashNotFound`` if the store lacks it."""
        return self.store.open(symbol.key)
