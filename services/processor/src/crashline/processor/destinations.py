"""Where a processed crash goes, in order: crash storage, the search index, PostgreSQL.

Every write is idempotent (overwrite by crash id, upserts that only ever move first dates
earlier and last dates later), so a crash processed twice leaves the same stored state.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

import psycopg2

from crashline.common.database.pool import Database, DatabaseError
from crashline.common.fields import REGISTRY
from crashline.common.search.client import DocumentRejected, SearchBackend
from crashline.common.search.documents import search_document
from crashline.common.storage import CrashStorage

log = logging.getLogger(__name__)

MAX_INDEX_ATTEMPTS = 5


class PermanentSaveError(Exception):
    """A store refused the crash for a reason that retrying will not fix."""


def date_processed(processed: Mapping[str, Any]) -> dt.datetime:
    value = processed.get("date_processed")
    parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    if parsed is None:
        raise PermanentSaveError("processed crash has no date_processed")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class StorageDestination:
    name = "storage"

    def __init__(self, storage: CrashStorage):
        self.storage = storage

    def save(self, crash_id: str, processed: Mapping[str, Any]) -> None:
        self.storage.put_processed_crash(crash_id, processed)


class SearchDestination:
    """One document per crash in the weekly index of its submission date. A field the
    engine refuses (an immense term, a number it cannot parse) is dropped, named in the
    processed crash's ``removed_fields``, and the document sent again."""

    name = "search"

    def __init__(self, search: SearchBackend, refresh: bool = False):
        self.search = search
        self.refresh = refresh

    def index_name(self, processed: Mapping[str, Any]) -> str:
        return self.search.namer.for_date(date_processed(processed).astimezone(dt.UTC))

    def save(self, crash_id: str, processed: Mapping[str, Any]) -> dict[str, Any] | None:
        """Index the crash; if fields had to be left out, return the processed crash's new
        ``removed_fields`` (the processor stores it)."""
        index = self.index_name(processed)
        known = [f for f in processed.get("removed_fields") or [] if isinstance(f, str)]
        removed = list(known)
        for _ in range(MAX_INDEX_ATTEMPTS):
            document = search_document(crash_id, processed, exclude=frozenset(removed))
            try:
                self.search.index_document(index, crash_id, document, refresh=self.refresh)
                return {"removed_fields": removed} if removed != known else None
            except DocumentRejected as exc:
                field = exc.field
                if field not in REGISTRY or field in removed:
                    raise PermanentSaveError(f"search engine refused the crash: {exc}") from exc
                log.warning("search engine refused field %s; indexing without it", field)
                removed.append(field)
        raise PermanentSaveError(f"search engine refused the crash {MAX_INDEX_ATTEMPTS} times")


# Upserts that only widen the known range, so replays and races change nothing.
_PRODUCT_SQL = """
INSERT INTO products (name, first_seen) VALUES (%(product)s, %(date)s)
ON CONFLICT (name) DO UPDATE SET first_seen = LEAST(products.first_seen, EXCLUDED.first_seen)
"""
_VERSION_SQL = """
INSERT INTO product_versions (product, version, release_channel, first_date, last_date)
VALUES (%(product)s, %(version)s, %(channel)s, %(date)s, %(date)s)
ON CONFLICT (product, version, release_channel) DO UPDATE SET
    first_date = LEAST(product_versions.first_date, EXCLUDED.first_date),
    last_date = GREATEST(product_versions.last_date, EXCLUDED.last_date)
"""
_SIGNATURE_SQL = """
INSERT INTO signatures (signature, first_date, first_build)
VALUES (%(signature)s, %(date)s, %(build)s)
ON CONFLICT (signature) DO UPDATE SET
    first_date = LEAST(signatures.first_date, EXCLUDED.first_date),
    first_build = LEAST(signatures.first_build, EXCLUDED.first_build)
"""


# A btree index row holds at most 2704 bytes and product_versions' key has three of these
# columns, so each text key is cut to this many bytes of UTF-8 (real ones are far shorter).
KEY_MAX_BYTES = 512

# SQLSTATE classes that the same statement meets again on every retry: data exceptions (22),
# integrity constraint violations (23) and program limits exceeded (54), such as an index
# row that is too big. The others (connections, deadlocks, cancellations, resources, a
# migration not applied yet) may pass on a later attempt.
PERMANENT_SQLSTATE_CLASSES = frozenset({"22", "23", "54"})


def sqlstate(exc: BaseException | None) -> str | None:
    """The SQLSTATE PostgreSQL answered with, looking through our wrapping exceptions."""
    while exc is not None:
        code = getattr(exc, "pgcode", None)
        if code:
            return code
        exc = exc.__cause__
    return None


def is_permanent_database_error(exc: BaseException) -> bool:
    code = sqlstate(exc)
    return code is not None and code[:2] in PERMANENT_SQLSTATE_CLASSES


def _key(value: Any) -> str | None:
    """``value`` as a text key PostgreSQL can store and index, or None. Text from crash data
    may hold NULs and lone surrogates (JSON lets both through), which PostgreSQL refuses."""
    if not isinstance(value, str):
        return None
    encoded = value.replace("\0", "").encode("utf-8", "replace")[:KEY_MAX_BYTES]
    return encoded.decode("utf-8", "ignore") or None  # cut on a character boundary


class DatabaseDestination:
    """Per signature the first date and build seen; per product the versions and channels
    seen, with first and last dates (what the webapp's product and signature pages use)."""

    name = "database"

    def __init__(self, database: Database):
        self.database = database

    def save(self, crash_id: str, processed: Mapping[str, Any]) -> None:
        build = processed.get("build")
        params = {
            "date": date_processed(processed),
            "product": _key(processed.get("product")),
            "version": _key(processed.get("version")),
            "channel": _key(processed.get("release_channel")) or "",
            "signature": _key(processed.get("signature")),
            # a build id that does not fit a bigint is no build id
            "build": build if isinstance(build, int) and 0 <= build < 2**63 else None,
        }
        try:
            with self.database.transaction() as cur:
                if params["product"]:
                    cur.execute(_PRODUCT_SQL, params)
                    if params["version"]:
                        cur.execute(_VERSION_SQL, params)
                if params["signature"]:
                    cur.execute(_SIGNATURE_SQL, params)
        except (DatabaseError, psycopg2.Error) as exc:
            if is_permanent_database_error(exc):
                raise PermanentSaveError(
                    f"PostgreSQL refused the crash (SQLSTATE {sqlstate(exc)}): {exc}") from exc
            if isinstance(exc, DatabaseError):
                raise
            raise DatabaseError(f"PostgreSQL failed (SQLSTATE {sqlstate(exc)}): {exc}") from exc
