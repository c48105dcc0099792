"""The webapp's MissingProcessedCrash, Ledger and LedgerCrashes endpoints over the real
PostgreSQL: pagination, filters, links from a difference to its crash ids, and bad input."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import falcon.testing
import pytest
from psycopg2.extras import Json, execute_values

from crashline.common.crashid import create_crash_id
from crashline.common.database import Database
from crashline.webapp.app import create_app
from crashline.webapp.services import Services
from crashline.webapp.settings import WebappSettings

pytestmark = pytest.mark.integration

UTC = dt.UTC
HOUR = dt.datetime(2026, 3, 2, 13, tzinfo=UTC)


@pytest.fixture(scope="module")
def api_db(make_schema):
    db = Database(make_schema())
    yield db
    db.close()


@pytest.fixture(scope="module")
def client(cron_env, api_db, search_backend, rabbitmq_client):
    values = {k.removeprefix("CRASHLINE_").lower(): v for k, v in cron_env.items()}
    settings = WebappSettings(**{**values, "database_url": api_db.dsn,
                                 "webapp_rate_limit_anonymous": 0})
    return falcon.testing.TestClient(create_app(settings, Services(settings, db=api_db)))


def get(client, endpoint: str, **params):
    return client.simulate_get(f"/api/{endpoint}/", params=params)


def test_missing_processed_crashes_page_and_filter(client, api_db):
    start = dt.datetime(2026, 3, 1, tzinfo=UTC)
    rows = [(create_crash_id(start), n % 3 == 0, start + dt.timedelta(seconds=n),
             ["processed", "indexed"]) for n in range(1201)]
    with api_db.transaction() as cur:
        execute_values(cur, "INSERT INTO missing_processed_crashes (crash_id, is_processed, "
                            "created, missing) VALUES %s", rows)
    first = get(client, "MissingProcessedCrash").json
    assert first["count"] == 1201 and len(first["results"]) == 1000
    assert first["previous"] is None
    assert first["next"].endswith("/api/MissingProcessedCrash/?page=2")
    assert first["results"][0]["crash_id"] == rows[-1][0]  # newest first
    link = urlsplit(first["next"])
    second = client.simulate_get(link.path, query_string=link.query).json
    assert len(second["results"]) == 201 and second["next"] is None
    assert second["previous"].endswith("page=1")
    assert {r["crash_id"] for r in first["results"] + second["results"]} == {r[0] for r in rows}

    done = get(client, "MissingProcessedCrash", is_processed="true").json
    assert done["count"] == 401 and all(r["is_processed"] for r in done["results"])
    open_ = get(client, "MissingProcessedCrash", is_processed="false", page="2").json
    assert open_["count"] == 800 and not any(r["is_processed"] for r in open_["results"])
    assert open_["previous"].endswith("is_processed=false&page=1")
    assert get(client, "MissingProcessedCrash", page="3").json["results"] == []


def insert_hour(db, hour, counts, differences: dict[str, list[str]]):
    with db.transaction() as cur:
        cur.execute("INSERT INTO ledger_hours (hour, received, stored, deferred, processed, "
                    "indexed, differences, balanced, counted_at) VALUES (%s, %s, %s, %s, %s, "
                    "%s, %s, %s, %s)",
                    (hour, *counts, Json({k: len(v) for k, v in differences.items()}),
                     not any(differences.values()), hour + dt.timedelta(hours=1)))
        rows = [(hour, kind, cid) for kind, ids in differences.items() for cid in ids]
        if rows:
            execute_values(cur, "INSERT INTO ledger_differences VALUES %s", rows)


def test_ledger_links_each_difference_to_its_crashes(client, api_db):
    lost = sorted(create_crash_id(HOUR) for _ in range(150))
    twice = [create_crash_id(HOUR)]
    insert_hour(api_db, HOUR - dt.timedelta(hours=1), (5, 5, 0, 5, 5), {})
    insert_hour(api_db, HOUR, (300, 300, 1, 149, 150),
                {"stored_not_processed": lost, "indexed_twice": twice})
    window = {"start": (HOUR - dt.timedelta(hours=1)).isoformat(),
              "end": (HOUR + dt.timedelta(hours=1)).isoformat()}
    body = get(client, "Ledger", **window).json
    assert body["total"] == 2 and not body["balanced"]
    newest, older = body["hours"]
    assert older["balanced"] and older["differences"] == {}
    assert (newest["hour"], newest["received"], newest["deferred"]) == (HOUR.isoformat(), 300, 1)
    assert list(newest["differences"]) == ["stored_not_processed", "indexed_twice"]
    assert newest["differences"]["indexed_twice"] == {"count": 1, "crash_ids": twice,
                                                      "more": None}
    shown = newest["differences"]["stored_not_processed"]
    assert shown["count"] == 150 and shown["crash_ids"] == lost[:100]
    assert "/api/LedgerCrashes/?hour=" in shown["more"]

    assert get(client, "Ledger", unbalanced="true", **window).json["total"] == 1
    page = get(client, "LedgerCrashes", hour=HOUR.isoformat(), kind="stored_not_processed").json
    assert page["crash_ids"] == lost and page["count"] == 150 and page["next"] is None
    # the same hour written in another zone
    elsewhere = HOUR.astimezone(dt.timezone(dt.timedelta(hours=-5))).isoformat()
    assert get(client, "LedgerCrashes", hour=elsewhere, kind="indexed_twice").json[
        "crash_ids"] == twice


@pytest.mark.parametrize("endpoint, params, culprit", [
    ("MissingProcessedCrash", {"page": "0"}, "page"),
    ("MissingProcessedCrash", {"page": "x"}, "page"),
    ("MissingProcessedCrash", {"is_processed": "maybe"}, "is_processed"),
    ("MissingProcessedCrash", {"other": "1"}, "other"),
    ("Ledger", {"start": "yesterday"}, "start"),
    ("Ledger", {"start": "2026-03-02T00:00:00", "end": "2026-03-01T00:00:00"}, "start"),
    ("Ledger", {"start": "2026-01-01T00:00:00", "end": "2026-03-01T00:00:00"}, "start"),
    ("Ledger", {"end": "0001-01-01T00:00:00-05:00"}, "end"),
    ("Ledger", {"end": "9999-12-31T23:59:59-05:00"}, "end"),
    ("LedgerCrashes", {"kind": "indexed_twice"}, "hour"),
    ("LedgerCrashes", {"hour": "2026-03-02T13:30:00", "kind": "indexed_twice"}, "hour"),
    ("LedgerCrashes", {"hour": "2026-03-02T13:00:00", "kind": "everything"}, "kind"),
])
def test_bad_parameters_are_named(client, endpoint, params, culprit):
    answer = get(client, endpoint, **params)
    assert answer.status_code == 400, answer.text
    assert culprit in answer.json["errors"]
