"""Where a processed crash goes, in order: crash storage, the search index, PostgreSQL.

Every write is idempotent (overwrite by crash id, upserts that only ever move first dates
earlier and last dates later), so a crash processed twice leaves the same stored state.
Search and PostgreSQL write a whole batch of crashes at once (``save_batch``; see saver.py)
and answer for each crash on its own; ``save`` writes one crash the same way.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg2

from crashline.common.database.pool import Database, DatabaseError
from crashline.common.fields import REGISTRY
from crashline.common.search.client import DocumentRejected, SearchBackend, SearchError
from crashline.common.search.documents import search_document
from crashline.common.storage import CrashStorage

log = logging.getLogger(__name__)

MAX_INDEX_ATTEMPTS = 5


class PermanentSaveError(Exception):
    """A store refused the crash for a reason that retrying will not fix."""


def date_processed(processed: Mapping[str, Any]) -> dt.datetime:
    value = processed.get("date_processed")
    if not isinstance(value, str):
        raise PermanentSaveError("processed crash has no date_processed")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:  # the crash's own failure, not its save batch's
        raise PermanentSaveError(f"processed crash has an unreadable date_processed: "
                                 f"{exc}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class StorageDestination:
    name = "storage"

    def __init__(self, storage: CrashStorage):
        self.storage = storage

    def save(self, crash_id: str, processed: Mapping[str, Any]) -> None:
        self.storage.put_processed_crash(crash_id, processed)


Crashes = Sequence[tuple[str, Mapping[str, Any]]]
# Per crash: the fields its processed crash must gain (or None), or why it was not written.
Results = list[Mapping[str, Any] | Exception | None]


def _single(results: Results) -> Mapping[str, Any] | None:
    """The one crash's result of a batch of one: raised if it is a failure."""
    [result] = results
    if isinstance(result, Exception):
        raise result
    return result


class SearchDestination:
    """One document per crash in the weekly index of its submission date, a whole batch in
    one ``_bulk`` request. A field the engine refuses in a document (an immense term, a
    number it cannot parse) is dropped from that document alone, named in its processed
    crash's ``removed_fields``, and the document sent again."""

    name = "search"

    def __init__(self, search: SearchBackend, refresh: bool = False):
        self.search = search
        self.refresh = refresh

    def index_name(self, processed: Mapping[str, Any]) -> str:
        return self.search.namer.for_date(date_processed(processed).astimezone(dt.UTC))

    def save(self, crash_id: str, processed: Mapping[str, Any]) -> dict[str, Any] | None:
        """Index one crash; if fields had to be left out, return the processed crash's new
        ``removed_fields`` (the processor stores it)."""
        return _single(self.save_batch([(crash_id, processed)]))

    def save_batch(self, crashes: Crashes) -> Results:
        """Index the crashes (distinct ids) in one request, and again the documents refused
        for a field, up to ``MAX_INDEX_ATTEMPTS`` rounds. Per crash: ``{"removed_fields":
        [...]}`` if fields had to be left out, else None, or the error."""
        results: Results = [None] * len(crashes)
        todo: dict[int, _Document] = {}
        for i, (crash_id, processed) in enumerate(crashes):
            try:
                document = _Document(crash_id, processed, self.index_name(processed))
                document.body()  # data no document can be made of fails its crash alone
            except PermanentSaveError as exc:
                results[i] = exc
            except Exception as exc:
                log.exception("cannot make the search document of crash %s", crash_id)
                results[i] = PermanentSaveError(f"cannot make the search document: {exc!r}")
            else:
                todo[i] = document
        for _ in range(MAX_INDEX_ATTEMPTS):
            if not todo:
                return results
            refused = self._index(list(todo.values()))
            for i, document in list(todo.items()):
                error = refused.get(document.crash_id)
                if error is None:
                    results[i] = document.amendments()
                    del todo[i]
                elif not document.drop_refused_field(error):
                    results[i] = (PermanentSaveError(f"search engine refused the crash: {error}")
                                  if isinstance(error, DocumentRejected) else error)
                    del todo[i]
        for i in todo:
            results[i] = PermanentSaveError(
                f"search engine refused the crash {MAX_INDEX_ATTEMPTS} times")
        return results

    def _index(self, documents: list[_Document]) -> dict[str, SearchError]:
        """What the engine refused of ``documents``, by crash id. A request refused as a whole
        (it names no document) is sent again one document at a time, so that it costs the
        crash it is about alone."""
        try:
            return self.search.index_documents(
                [(d.index, d.crash_id, d.body()) for d in documents], refresh=self.refresh)
        except DocumentRejected as exc:
            if len(documents) == 1:
                return {documents[0].crash_id: exc}
            refused: dict[str, SearchError] = {}
            for document in documents:
                refused.update(self._index([document]))
            return refused
        except SearchError as exc:
            return {d.crash_id: exc for d in documents}


class _Document:
    """One crash's search document on its way into the index, and the fields left out."""

    def __init__(self, crash_id: str, processed: Mapping[str, Any], index: str):
        self.crash_id = crash_id
        self.processed = processed
        self.index = index
        self.known = [f for f in processed.get("removed_fields") or [] if isinstance(f, str)]
        self.removed = list(self.known)
        self._body: dict | None = None

    def body(self) -> dict:
        if self._body is None:  # made once, and again only when a field is left out
            self._body = search_document(self.crash_id, self.processed,
                                         exclude=frozenset(self.removed))
        return self._body

    def drop_refused_field(self, error: SearchError) -> bool:
        """Leave out the field the engine refused, if that is what it refused."""
        field = error.field if isinstance(error, DocumentRejected) else None
        if field not in REGISTRY or field in self.removed:
            return False
        log.warning("search engine refused field %s of crash %s; indexing without it", field,
                    self.crash_id)
        self.removed.append(field)
        self._body = None
        return True

    def amendments(self) -> dict[str, Any] | None:
        return {"removed_fields": self.removed} if self.removed != self.known else None


# Upserts that only widen the known range, so replays and races change nothing. Each takes
# the rows of a whole batch as arrays, one row per key (two rows for one key in one statement
# would be an error), in key order so that processors writing the same keys at once take
# their row locks in the same order.
_PRODUCT_SQL = """
INSERT INTO products (name, first_seen)
SELECT * FROM unnest(%(product)s::text[], %(date)s::timestamptz[])
ON CONFLICT (name) DO UPDATE SET first_seen = LEAST(products.first_seen, EXCLUDED.first_seen)
"""
_VERSION_SQL = """
INSERT INTO product_versions (product, version, release_channel, first_date, last_date)
SELECT * FROM unnest(%(product)s::text[], %(version)s::text[], %(channel)s::text[],
                     %(first_date)s::timestamptz[], %(last_date)s::timestamptz[])
ON CONFLICT (product, version, release_channel) DO UPDATE SET
    first_date = LEAST(product_versions.first_date, EXCLUDED.first_date),
    last_date = GREATEST(product_versions.last_date, EXCLUDED.last_date)
"""
_SIGNATURE_SQL = """
INSERT INTO signatures (signature, first_date, first_build)
SELECT * FROM unnest(%(signature)s::text[], %(date)s::timestamptz[], %(build)s::bigint[])
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


def _earliest(a: Any, b: Any) -> Any:
    """The smaller of two values where None means unknown (as LEAST does in SQL)."""
    return b if a is None else a if b is None else min(a, b)


class _Rows:
    """The rows of a batch of crashes, one per key, each holding what the crashes with that
    key say: the earliest date and build, the latest date (what the upserts keep anyway)."""

    def __init__(self) -> None:
        self.products: dict[str, dt.datetime] = {}
        self.versions: dict[tuple[str, str, str], tuple[dt.datetime, dt.datetime]] = {}
        self.signatures: dict[str, tuple[dt.datetime, int | None]] = {}

    def add(self, processed: Mapping[str, Any]) -> None:
        date = date_processed(processed)
        product, signature = _key(processed.get("product")), _key(processed.get("signature"))
        if product:
            self.products[product] = _earliest(self.products.get(product), date)
            version = _key(processed.get("version"))
            if version:
                key = (product, version, _key(processed.get("release_channel")) or "")
                first, last = self.versions.get(key, (date, date))
                self.versions[key] = (min(first, date), max(last, date))
        if signature:
            build = processed.get("build")
            # a build id that does not fit a bigint is no build id
            build = build if isinstance(build, int) and 0 <= build < 2**63 else None
            first, first_build = self.signatures.get(signature, (date, build))
            self.signatures[signature] = (min(first, date), _earliest(first_build, build))

    def write(self, cur) -> None:
        if self.products:
            names = sorted(self.products)
            cur.execute(_PRODUCT_SQL, {"product": names,
                                       "date": [self.products[n] for n in names]})
        if self.versions:
            keys = sorted(self.versions)
            cur.execute(_VERSION_SQL, {
                "product": [k[0] for k in keys], "version": [k[1] for k in keys],
                "channel": [k[2] for k in keys],
                "first_date": [self.versions[k][0] for k in keys],
                "last_date": [self.versions[k][1] for k in keys]})
        if self.signatures:
            names = sorted(self.signatures)
            cur.execute(_SIGNATURE_SQL, {"signature": names,
                                         "date": [self.signatures[n][0] for n in names],
                                         "build": [self.signatures[n][1] for n in names]})


class DatabaseDestination:
    """Per signature the first date and build seen; per product the versions and channels
    seen, with first and last dates (what the webapp's product and signature pages use).
    A batch of crashes is one transaction."""

    name = "database"

    def __init__(self, database: Database):
        self.database = database

    def save(self, crash_id: str, processed: Mapping[str, Any]) -> None:
        _single(self.save_batch([(crash_id, processed)]))

    def save_batch(self, crashes: Crashes) -> Results:
        """None per crash written, or the error. If PostgreSQL refuses the batch for a reason
        that would refuse it again, each crash is written on its own so that only the one
        at fault fails."""
        results: Results = [None] * len(crashes)
        written: list[int] = []
        rows = _Rows()
        for i, (_, processed) in enumerate(crashes):
            try:
                rows.add(processed)
                written.append(i)
            except PermanentSaveError as exc:
                results[i] = exc
        if not written:
            return results
        try:
            self._write(rows)
        except PermanentSaveError as exc:
            if len(written) == 1:
                results[written[0]] = exc
                return results
            for i in written:
                results[i] = self.save_batch([crashes[i]])[0]
        except DatabaseError as exc:
            for i in written:
                results[i] = exc
        return results

    def _write(self, rows: _Rows) -> None:
        try:
            with self.database.transaction() as cur:
                rows.write(cur)
        except (DatabaseError, psycopg2.Error) as exc:
            if is_permanent_database_error(exc):
                raise PermanentSaveError(
                    f"PostgreSQL refused the crash (SQLSTATE {sqlstate(exc)}): {exc}") from exc
            if isinstance(exc, DatabaseError):
                raise
            raise DatabaseError(f"PostgreSQL failed (SQLSTATE {sqlstate(exc)}): {exc}") from exc
