"""The PostgreSQL destination against the real server: keys that fit its indices, and
errors classified by SQLSTATE (permanent ones fail the crash at once instead of retrying)."""

from __future__ import annotations

import secrets

import pytest

from crashline.processor import destinations
from crashline.processor.destinations import (
    KEY_MAX_BYTES,
    DatabaseDestination,
    PermanentSaveError,
    is_permanent_database_error,
    sqlstate,
)

pytestmark = pytest.mark.integration

# Random text does not compress, so PostgreSQL has to index every byte of it.
RANDOM_TEXT = "SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 200)"


def error_of(database, *statements: str) -> BaseException:
    """What the pool raises when PostgreSQL refuses the last statement."""
    with pytest.raises(Exception) as info, database.transaction() as cur:
        for statement in statements:
            cur.execute(statement)
    return info.value


@pytest.mark.parametrize("statements, code, permanent", [
    (["SELECT 1/0"], "22012", True),
    (["SELECT 'x'::integer"], "22P02", True),
    (["CREATE TEMP TABLE t (k int PRIMARY KEY)", "INSERT INTO t VALUES (1), (1)"],
     "23505", True),
    (["CREATE TEMP TABLE t (k text PRIMARY KEY)", f"INSERT INTO t ({RANDOM_TEXT})"],
     "54000", True),
    (["SET LOCAL statement_timeout = '10ms'", "SELECT pg_sleep(2)"], "57014", False),
    (["SELECT * FROM crashline_no_such_table"], "42P01", False),
])
def test_real_errors_are_classified_by_sqlstate(database, statements, code, permanent):
    error = error_of(database, *statements)
    assert sqlstate(error) == code
    assert is_permanent_database_error(error) is permanent


def product_rows(database, prefix: str) -> list[dict]:
    with database.transaction() as cur:
        cur.execute("SELECT p.name, v.version, v.release_channel FROM products p "
                    "JOIN product_versions v ON v.product = p.name WHERE p.name LIKE %s",
                    (prefix + "%",))
        return cur.fetchall()


def test_over_long_keys_are_cut_to_fit_the_indices(database):
    prefix = f"long-{secrets.token_hex(4)}-"
    # 4 bytes a pair, so the product's cut (after a 14-byte prefix) falls inside a "€"
    tail = "".join(c + "€" for c in secrets.token_urlsafe(3000))
    processed = {"date_processed": "2025-08-27T10:00:00+00:00",
                 "product": prefix + tail, "version": tail, "release_channel": tail,
                 "signature": prefix + tail}
    DatabaseDestination(database).save("id", processed)
    [row] = product_rows(database, prefix)
    for value, full in zip(row.values(), (prefix + tail, tail, tail), strict=True):
        assert KEY_MAX_BYTES - 3 <= len(value.encode()) <= KEY_MAX_BYTES  # whole characters
        assert full.startswith(value)


def test_text_postgresql_refuses_is_cleaned(database):
    prefix = f"nul-{secrets.token_hex(4)}-"
    processed = {"date_processed": "2025-08-27T10:00:00+00:00",
                 "product": prefix + "a\0b\ud800c", "version": "1\0", "release_channel": "\0"}
    DatabaseDestination(database).save("id", processed)
    assert product_rows(database, prefix) == [
        {"name": prefix + "ab?c", "version": "1", "release_channel": ""}]


def test_a_key_postgresql_cannot_index_fails_at_once(database, monkeypatch):
    monkeypatch.setattr(destinations, "KEY_MAX_BYTES", 10**6)
    product = f"huge-{secrets.token_urlsafe(6000)}"
    with pytest.raises(PermanentSaveError, match="54000"):
        DatabaseDestination(database).save("id", {"date_processed": "2025-08-27T10:00:00Z",
                                                  "product": product})
    assert product_rows(database, product[:20]) == []


def test_a_crash_postgresql_refuses_in_a_batch_fails_alone(database, monkeypatch):
    monkeypatch.setattr(destinations, "KEY_MAX_BYTES", 10**6)
    prefix = f"batch-{secrets.token_hex(4)}-"
    crashes = [("id", {"date_processed": "2025-08-27T10:00:00Z", "product": prefix + name,
                       "version": "1.0"})
               for name in ("first", f"huge-{secrets.token_urlsafe(6000)}", "last")]
    results = DatabaseDestination(database).save_batch(crashes)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], PermanentSaveError) and "54000" in str(results[1])
    assert sorted(row["name"] for row in product_rows(database, prefix)) == [
        prefix + "first", prefix + "last"]


def test_a_batch_keeps_the_widest_range_of_each_key(database):
    product = f"range-{secrets.token_hex(4)}"
    signature = f"sig-{secrets.token_hex(4)}"
    crashes = [("id", {"date_processed": f"2025-08-{day}T10:00:00Z", "product": product,
                       "version": "1.0", "signature": signature, "build": build})
               for day, build in (("20", 20250102), ("27", None), ("13", 20250105))]
    assert DatabaseDestination(database).save_batch(crashes) == [None, None, None]
    with database.transaction() as cur:
        cur.execute("SELECT first_date::date::text AS first, last_date::date::text AS last "
                    "FROM product_versions WHERE product = %s", (product,))
        assert cur.fetchall() == [{"first": "2025-08-13", "last": "2025-08-27"}]
        cur.execute("SELECT first_date::date::text AS first, first_build FROM signatures "
                    "WHERE signature = %s", (signature,))
        assert cur.fetchall() == [{"first": "2025-08-13", "first_build": 20250102}]
