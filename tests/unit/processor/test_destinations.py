import datetime as dt
from types import MappingProxyType

import psycopg2
import pytest

from crashline.common.database.pool import DatabaseError
from crashline.common.search.client import DocumentRejected
from crashline.common.search.indices import IndexNamer
from crashline.processor.destinations import (
    KEY_MAX_BYTES,
    DatabaseDestination,
    PermanentSaveError,
    SearchDestination,
)

PROCESSED = {"date_processed": "2025-08-27T10:00:00+00:00", "signature": "foo",
             "product": "Widget", "version": "1.0", "release_channel": "beta",
             "build": 20250101000000, "url": "x" * 50, "uptime": 5}


class FakeSearch:
    def __init__(self, reject=()):
        self.namer = IndexNamer("crashline-%Y%W")
        self.reject = list(reject)
        self.indexed = []

    def index_document(self, index, doc_id, document, refresh=False):
        if self.reject:
            field = self.reject.pop(0)
            raise DocumentRejected(f"failed to parse field [{field}]", field)
        self.indexed.append((index, doc_id, document))


def test_weekly_index_and_document_from_the_registry():
    search = FakeSearch()
    assert SearchDestination(search).save("id1", dict(PROCESSED)) is None
    index, doc_id, doc = search.indexed[0]
    assert index == "crashline-202534"  # 2025-08-27, Monday-based week 34
    assert doc_id == "id1"
    assert doc["signature"] == "foo" and doc["build_id"] == 20250101000000
    assert doc["date"] == PROCESSED["date_processed"]


def test_rejected_field_is_removed_named_and_retried():
    search = FakeSearch(reject=["url", "uptime"])
    processed = MappingProxyType(dict(PROCESSED))  # read only: changes come back instead
    assert SearchDestination(search).save("id1", processed) == {
        "removed_fields": ["url", "uptime"]}
    doc = search.indexed[0][2]
    assert "url" not in doc and "uptime" not in doc and doc["signature"] == "foo"


def test_fields_removed_before_are_left_out_at_once():
    search = FakeSearch(reject=["uptime"])
    processed = {**PROCESSED, "removed_fields": ["url"]}
    assert SearchDestination(search).save("id1", processed) == {
        "removed_fields": ["url", "uptime"]}
    assert "url" not in search.indexed[0][2]
    search = FakeSearch()
    assert SearchDestination(search).save("id1", processed) is None


def test_rejection_without_a_known_field_is_permanent():
    with pytest.raises(PermanentSaveError):
        SearchDestination(FakeSearch(reject=[None])).save("id1", dict(PROCESSED))


class FakeCursor:
    def __init__(self):
        self.statements = []

    def execute(self, sql, params=None):
        self.statements.append((" ".join(sql.split()), params))


class FakeDatabase:
    def __init__(self):
        self.cursor = FakeCursor()

    def transaction(self):
        import contextlib

        @contextlib.contextmanager
        def tx():
            yield self.cursor

        return tx()


def test_database_upserts_only_widen():
    db = FakeDatabase()
    DatabaseDestination(db).save("id1", dict(PROCESSED))
    sql = [s for s, _ in db.cursor.statements]
    assert sql[0].startswith("INSERT INTO products")
    assert "LEAST(product_versions.first_date" in sql[1]
    assert "GREATEST(product_versions.last_date" in sql[1]
    assert "first_build = LEAST(signatures.first_build" in sql[2]
    params = db.cursor.statements[2][1]
    assert params["date"] == dt.datetime(2025, 8, 27, 10, tzinfo=dt.UTC)
    assert params["build"] == 20250101000000 and params["channel"] == "beta"


def test_database_without_product_records_only_the_signature():
    db = FakeDatabase()
    DatabaseDestination(db).save("id1", {"date_processed": PROCESSED["date_processed"],
                                         "signature": "EMPTY: no frame data available"})
    assert [s.split()[2] for s, _ in db.cursor.statements] == ["signatures"]


class BrokenCursor(FakeCursor):
    def __init__(self, error):
        super().__init__()
        self.error = error

    def execute(self, sql, params=None):
        raise self.error


@pytest.mark.parametrize("error", [psycopg2.InterfaceError("connection already closed"),
                                   DatabaseError("PostgreSQL connection failed")])
def test_database_errors_without_a_permanent_sqlstate_are_transient(error):
    db = FakeDatabase()
    db.cursor = BrokenCursor(error)
    with pytest.raises(DatabaseError):
        DatabaseDestination(db).save("id1", dict(PROCESSED))


def test_text_keys_are_capped_and_cleaned():
    db = FakeDatabase()
    processed = {**PROCESSED, "product": "€" * 1000, "version": "1\0.0", "release_channel": "\0",
                 "signature": "a\ud800b"}
    DatabaseDestination(db).save("id1", processed)
    params = db.cursor.statements[0][1]
    assert params["product"] == "€" * (KEY_MAX_BYTES // 3)
    assert (params["version"], params["channel"]) == ("1.0", "")
    assert params["signature"] == "a?b"
