import datetime as dt
from types import MappingProxyType

import psycopg2
import pytest

from crashline.common.database.pool import DatabaseError
from crashline.common.search.client import DocumentRejected, SearchError
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
    """Refuses the first documents sent, one per field in ``reject``, like the engine."""

    def __init__(self, reject=()):
        self.namer = IndexNamer("crashline-%Y%W")
        self.reject = list(reject)
        self.indexed = []
        self.requests = 0

    def index_documents(self, documents, refresh=False):
        self.requests += 1
        refused = {}
        for index, doc_id, document in documents:
            if self.reject:
                field = self.reject.pop(0)
                refused[doc_id] = DocumentRejected(f"failed to parse field [{field}]", field)
            else:
                self.indexed.append((index, doc_id, document))
        return refused


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
    date = dt.datetime(2025, 8, 27, 10, tzinfo=dt.UTC)
    assert db.cursor.statements[1][1] == {"product": ["Widget"], "version": ["1.0"],
                                          "channel": ["beta"], "first_date": [date],
                                          "last_date": [date]}
    assert db.cursor.statements[2][1] == {"signature": ["foo"], "date": [date],
                                          "build": [20250101000000]}


def test_a_batch_is_one_transaction_with_one_row_per_key():
    db = FakeDatabase()
    day = dt.datetime(2025, 8, 27, 10, tzinfo=dt.UTC)
    crashes = [
        ("id1", {**PROCESSED, "date_processed": "2025-08-27T12:00:00+00:00", "build": None}),
        ("id2", {**PROCESSED, "signature": "bar", "product": "Gadget"}),
        ("id3", {**PROCESSED, "date_processed": "2025-08-27T08:00:00+00:00",
                 "build": 20240101000000}),
        ("id4", {"signature": "no date"}),  # refused alone
    ]
    results = DatabaseDestination(db).save_batch(crashes)
    assert results[:3] == [None, None, None]
    assert isinstance(results[3], PermanentSaveError)
    products, versions, signatures = (params for _, params in db.cursor.statements)
    # keys in order; per key the earliest first date and build, the latest last date
    assert products == {"product": ["Gadget", "Widget"],
                        "date": [day, day.replace(hour=8)]}
    assert versions["product"] == ["Gadget", "Widget"]
    assert versions["first_date"] == [day, day.replace(hour=8)]
    assert versions["last_date"] == [day, day.replace(hour=12)]
    assert signatures == {"signature": ["bar", "foo"], "date": [day, day.replace(hour=8)],
                          "build": [20250101000000, 20240101000000]}


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
    versions, signatures = db.cursor.statements[1][1], db.cursor.statements[2][1]
    assert versions["product"] == ["€" * (KEY_MAX_BYTES // 3)]
    assert (versions["version"], versions["channel"]) == (["1.0"], [""])
    assert signatures["signature"] == ["a?b"]


class ScriptedSearch(FakeSearch):
    """Answers each request with ``answer(documents by doc id)``: refusals by doc id, or
    raises; records what each request held."""

    def __init__(self, answer):
        super().__init__()
        self.answer = answer
        self.sent = []

    def index_documents(self, documents, refresh=False):
        self.sent.append({doc_id: document for _, doc_id, document in documents})
        return self.answer(self.sent[-1])


def test_a_field_refused_in_a_batch_is_removed_from_that_crash_alone():
    def answer(documents):
        if "url" in documents.get("id1", {}):
            return {"id1": DocumentRejected("failed to parse field [url]", "url")}
        return {}
    search = ScriptedSearch(answer)
    results = SearchDestination(search).save_batch([(f"id{i}", dict(PROCESSED))
                                                    for i in range(3)])
    assert results == [None, {"removed_fields": ["url"]}, None]
    assert [list(documents) for documents in search.sent] == [["id0", "id1", "id2"], ["id1"]]
    assert "url" not in search.sent[1]["id1"]
    assert search.sent[0]["id0"]["url"] == search.sent[0]["id2"]["url"] == "x" * 50


def test_failures_of_one_document_stay_with_its_crash():
    def answer(documents):
        return {"id0": SearchError("queue full"),
                "id1": DocumentRejected("mapper_parsing_exception: something", None)}
    results = SearchDestination(ScriptedSearch(answer)).save_batch(
        [(f"id{i}", dict(PROCESSED)) for i in range(3)])
    assert type(results[0]) is SearchError  # passing: the crash is retried
    assert isinstance(results[1], PermanentSaveError)  # no field to leave out
    assert results[2] is None


def test_a_request_refused_as_a_whole_is_sent_again_one_document_at_a_time():
    def answer(documents):
        if "id1" in documents:
            raise DocumentRejected("illegal_argument_exception: the request as a whole")
        return {}
    search = ScriptedSearch(answer)
    results = SearchDestination(search).save_batch(
        [(f"id{i}", dict(PROCESSED)) for i in range(3)])
    assert [list(d) for d in search.sent] == [["id0", "id1", "id2"], ["id0"], ["id1"], ["id2"]]
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], PermanentSaveError)


def test_a_failed_request_fails_every_crash_of_it_and_a_crash_without_date_alone():
    def answer(documents):
        raise SearchError("connection refused")
    crashes = [("id0", dict(PROCESSED)), ("id1", {"signature": "no date"})]
    results = SearchDestination(ScriptedSearch(answer)).save_batch(crashes)
    assert type(results[0]) is SearchError
    assert isinstance(results[1], PermanentSaveError)


class Refused(psycopg2.DataError):
    pgcode = "54000"  # program limit exceeded: an index row too big


class RefusingCursor(FakeCursor):
    """Refuses any statement that writes the product ``huge``."""

    def execute(self, sql, params=None):
        if "huge" in (params or {}).get("product", []):
            raise Refused("index row size exceeds btree maximum")
        super().execute(sql, params)


def test_a_batch_postgresql_refuses_is_written_crash_by_crash():
    db = FakeDatabase()
    db.cursor = RefusingCursor()
    crashes = [("id0", dict(PROCESSED)), ("id1", {**PROCESSED, "product": "huge"}),
               ("id2", {**PROCESSED, "product": "Gadget", "signature": "bar"})]
    results = DatabaseDestination(db).save_batch(crashes)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], PermanentSaveError) and "54000" in str(results[1])
    written = [params["product"] for sql, params in db.cursor.statements
               if sql.startswith("INSERT INTO products")]
    assert written == [["Widget"], ["Gadget"]]


def test_a_passing_database_failure_fails_the_whole_batch():
    db = FakeDatabase()
    db.cursor = BrokenCursor(DatabaseError("PostgreSQL connection failed"))
    results = DatabaseDestination(db).save_batch([("id0", dict(PROCESSED)),
                                                  ("id1", dict(PROCESSED))])
    assert all(type(r) is DatabaseError for r in results)


def test_a_crash_no_document_can_be_made_of_fails_alone(monkeypatch):
    # Whatever in one crash's data breaks the making of its document, its batch mates are
    # indexed (it failed the whole batch, and so dead-lettered every crash saved with it).
    from crashline.processor import destinations

    real = destinations.search_document

    def fragile(crash_id, processed, **kwargs):
        if processed.get("signature") == "poison":
            raise OverflowError("cannot convert float infinity to integer")
        return real(crash_id, processed, **kwargs)

    monkeypatch.setattr(destinations, "search_document", fragile)
    search = FakeSearch()
    crashes = [("id0", dict(PROCESSED)), ("id1", {**PROCESSED, "signature": "poison"}),
               ("id2", dict(PROCESSED))]
    results = SearchDestination(search).save_batch(crashes)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], PermanentSaveError)
    assert "OverflowError" in str(results[1])
    assert [doc_id for _, doc_id, _ in search.indexed] == ["id0", "id2"]


@pytest.mark.parametrize("date", ["not a date", "2025-13-45T00:00:00", 20250827])
def test_a_crash_with_an_unreadable_date_fails_alone_in_every_store(date):
    # An unreadable date_processed raised ValueError out of the database's batch, which
    # failed (and so dead-lettered) every crash saved with it; search already isolated it.
    crashes = [("id0", dict(PROCESSED)), ("id1", {**PROCESSED, "date_processed": date}),
               ("id2", {**PROCESSED, "product": "Gadget", "signature": "bar"})]
    search = FakeSearch()
    db = FakeDatabase()
    for results in (SearchDestination(search).save_batch(crashes),
                    DatabaseDestination(db).save_batch(crashes)):
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], PermanentSaveError)
        assert "date_processed" in str(results[1])
    assert [doc_id for _, doc_id, _ in search.indexed] == ["id0", "id2"]
    products = [params["product"] for sql, params in db.cursor.statements
                if sql.startswith("INSERT INTO products")]
    assert products == [["Gadget", "Widget"]]
