"""Page benchmark: server time of the crash report, top crashers and signature report pages
with 100,000 crashes indexed.

Indexes the same synthetic crashes as ``bench_webapp.py`` (products renamed to this run's
own, and recorded in PostgreSQL as the processor records them), stores a few processed
crashes with a realistic stack (the corpus crash's stack walk, its threads repeated to 50)
in a temporary crash store, starts ``crashline-webapp`` (gunicorn) and times each page over
loopback, from request to the last byte. The crash report is timed twice: anonymous, and
signed in (a session looked up in PostgreSQL with every page). Prints p50/p95 per page, the
medians of ``--repeat`` runs (target: p95 under 300 ms). Deletes its indices and rows
afterwards.

    .venv/bin/python tests/bench/bench_pages.py [--crashes 100000] [--requests 40] [--repeat 5]
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests
from bench_webapp import bulk_index, percentile, start_webapp, synthetic_crashes

from crashline.common.crashid import create_crash_id
from crashline.common.database import apply_migrations, database_from_settings
from crashline.common.search import search_from_settings
from crashline.common.storage import storage_from_settings
from crashline.processor.destinations import DatabaseDestination
from crashline.webapp.auth.sessions import Cookies, SessionStore
from crashline.webapp.auth.store import AccountStore
from crashline.webapp.settings import WebappSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for harness
from harness.shared import CORPUS  # noqa: E402

TAG = uuid.uuid4().hex[:6]
TEMPLATE = f"crashline-bench-pages-{TAG}-%Y%W"
STORED_CRASHES = 20
RECORDED_SIGNATURES: set[str] = set()   # rows the processor's recorder added, deleted after


def bench_crashes(count: int):
    for crash_id, processed, when in synthetic_crashes(count):
        processed["product"] = f"{processed['product']}Bench{TAG}"
        yield crash_id, processed, when


def index_all(backend, db, count: int) -> tuple[list[str], str]:
    """Index ``count`` crashes, recording each product version once in PostgreSQL as the
    processor does; returns the indices and the most frequent signature."""
    recorded: set[tuple[str, str]] = set()
    signatures: dict[str, int] = {}
    recorder = DatabaseDestination(db)

    def recording():
        for crash_id, processed, when in bench_crashes(count):
            key = (processed["product"], processed["version"])
            if key not in recorded:
                recorded.add(key)
                recorder.save(crash_id, processed)
                RECORDED_SIGNATURES.add(processed["signature"])
            signatures[processed["signature"]] = signatures.get(processed["signature"], 0) + 1
            yield crash_id, processed, when

    indices = bulk_index(backend, count, recording())
    return indices, max(signatures, key=signatures.get)


def store_crashes(storage) -> list[str]:
    """Processed crashes with a real stack walk (50 threads of the corpus crash's frames)."""
    walk = json.loads((CORPUS / "expected/windows-x86-test_app.stackwalk.json").read_text())
    walk["threads"] = [copy.deepcopy(walk["threads"][i % len(walk["threads"])])
                       for i in range(50)]
    ids = []
    now = dt.datetime.now(dt.UTC)
    for _ in range(STORED_CRASHES):
        crash_id = create_crash_id(now)
        raw = {"ProductName": f"FirefoxBench{TAG}", "Version": "120.0", "uuid": crash_id,
               "submitted_timestamp": now.isoformat(), "URL": "https://example.com/",
               **{f"Annotation{i}": "x" * 40 for i in range(40)}}
        processed = {"uuid": crash_id, "crash_id": crash_id, "date_processed": now.isoformat(),
                     "signature": "(anonymous namespace)::CrashFunction",
                     "product": raw["ProductName"], "version": "120.0", "os_name": "Windows NT",
                     "cpu_arch": "x86", "reason": "EXCEPTION_ACCESS_VIOLATION_WRITE",
                     "address": "0x45", "uptime": 12, "crashing_thread": 0, "json_dump": walk,
                     "processor_notes": "bench", "success": True}
        storage.save_raw_crash(crash_id, raw, {"upload_file_minidump": b"MDMP"})
        storage.put_processed_crash(crash_id, processed)
        ids.append(crash_id)
    return ids


def measure(session: requests.Session, urls: list[str], count: int,
            headers: dict[str, str] | None = None) -> list[float]:
    times = []
    for i in range(count + 5):  # the first 5 warm up
        url = urls[i % len(urls)]
        start = time.perf_counter()
        response = session.get(url, timeout=60, headers=headers)
        elapsed = time.perf_counter() - start
        assert response.status_code == 200, (url, response.status_code, response.text[:500])
        if i >= 5:
            times.append(elapsed * 1000)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crashes", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not CORPUS.is_dir():
        print(f"skipped: the shared crash corpus is absent ({CORPUS})")
        return 0

    work = Path(tempfile.mkdtemp(prefix="crashline-bench-pages-"))
    env = {"CRASHLINE_SEARCH_INDEX_TEMPLATE": TEMPLATE,
           "CRASHLINE_STORAGE_BACKEND": "local", "CRASHLINE_STORAGE_PATH": str(work / "crashes"),
           "CRASHLINE_STORAGE_FSYNC": "false",
           # The pages' searches are counted like production, but never limit the benchmark.
           "CRASHLINE_WEBAPP_RATE_LIMIT_SEARCH_ANONYMOUS": "100000000",
           "CRASHLINE_WEBAPP_WORKERS": "2", "CRASHLINE_WEBAPP_THREADS": "2"}
    settings = WebappSettings(**{k.removeprefix("CRASHLINE_").lower(): v
                                 for k, v in env.items()})
    db = database_from_settings(settings)
    apply_migrations(db)
    backend = search_from_settings(settings)
    indices, top_signature = index_all(backend, db, args.crashes)
    crash_ids = store_crashes(storage_from_settings(settings))
    webapp = start_webapp(env, work / "webapp.log")
    # A signed-in reader: their session cookie, sent by hand (requests keeps secure cookies
    # for https).
    user = AccountStore(db).create_user(f"bench-{TAG}", permissions=["view_pii"])
    session_id = SessionStore(db, dt.timedelta(hours=1), dt.timedelta(hours=1)).create(user.id)
    signed_in = {"Cookie": f"{Cookies(settings.webapp_cookie_secure).session}={session_id}"}
    check = requests.get(f"{webapp.url}/report/index/{crash_ids[0]}", headers=signed_in,
                         timeout=60)
    assert f"bench-{TAG}" in check.text, "the session cookie did not sign the page in"
    product = f"FirefoxBench{TAG}"
    report_urls = [f"{webapp.url}/report/index/{c}" for c in crash_ids]
    pages = {
        "crash report": report_urls,
        "crash report (signed in)": report_urls,
        "top crashers (7 days)": [f"{webapp.url}/topcrashers/?product={product}"
                                  f"&version=120.0&days={d}&process_type=any"
                                  for d in (7, 7, 3)],
        "signature report": [f"{webapp.url}/signature/?"
                             + requests.compat.urlencode({"signature": top_signature})],
    }
    try:
        session = requests.Session()
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in pages}
        for _ in range(args.repeat):
            for name, urls in pages.items():
                times = measure(session, urls, args.requests,
                                signed_in if "signed in" in name else None)
                runs[name].append((percentile(times, 50), percentile(times, 95)))
        print(f"\n{args.crashes} crashes, {args.requests} requests x {args.repeat} runs "
              "(medians of the runs), milliseconds")
        print(f"{'page':26} {'p50':>8} {'p95':>8}")
        for name, figures in runs.items():
            p50, p95 = (statistics.median(f[i] for f in figures) for i in range(2))
            verdict = "ok" if p95 < 300 else "over target"
            print(f"{name:26} {p50:8.1f} {p95:8.1f}  {verdict}")
    finally:
        webapp.stop()
        for index in indices:
            backend.delete_index(index)
        with db.transaction() as cur:
            cur.execute("DELETE FROM users WHERE id = %s", (user.id,))  # and its session
            cur.execute("DELETE FROM product_versions WHERE product LIKE %s", (f"%Bench{TAG}",))
            cur.execute("DELETE FROM products WHERE name LIKE %s", (f"%Bench{TAG}",))
            cur.execute("DELETE FROM signatures WHERE signature = ANY(%s)",
                        (sorted(RECORDED_SIGNATURES),))
        db.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
