"""Webapp benchmark: Super Search latency through the API versus the bare engine query, on
every search engine of the run: the stack's own and those ``CRASHLINE_TEST_SEARCH_ENGINES``
lists (``make bench`` adds OpenSearch and the other Elasticsearch major).

Per engine, bulk-indexes 100,000 synthetic processed crashes (fixed seed, spread over the
last 14 days, documents built by the processor's own ``search_document``) into a dedicated
index template, starts ``crashline-webapp`` (gunicorn), and for three typical searches
measures p50/p95 latency of the API call, anonymous and with an API token, and of the bare
query the API issues (taken from ``_return_query`` just before, so with the same moving
window, and sent straight to the engine with the same parameters: the engine's request
cache serves both alike, e.g. an index wholly inside the window). Requests alternate between
the two so both see the same noise.
Prints the medians of ``--repeat`` runs and the ratio (target: API p95 within 1.3x the bare
query's). Deletes its indices afterwards.

    .venv/bin/python tests/bench/bench_webapp.py [--crashes 100000] [--requests 60] [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

from crashline.common.crashid import create_crash_id
from crashline.common.database import apply_migrations, database_from_settings
from crashline.common.search import search_from_settings
from crashline.common.search.documents import search_document
from crashline.common.settings import SearchEngine
from crashline.webapp.auth.store import AccountStore
from crashline.webapp.settings import WebappSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for harness
from harness.services import ServiceProcess, free_port  # noqa: E402

# What the search backend sends with every query (crashline.common.search.client.search).
BARE_PARAMS = {"ignore_unavailable": "true", "allow_no_indices": "true"}
TEMPLATE = f"crashline-bench-webapp-{uuid.uuid4().hex[:6]}-%Y%W"

SEARCHES = {
    "signature facet, 7 days": {"_results_number": "0", "_facets": "signature",
                                "_facets_size": "50"},
    "crash list with columns": {"product": "Firefox", "_sort": "-date",
                                "_columns": ["uuid", "date", "signature", "product", "version",
                                             "build_id", "os_name", "uptime"],
                                "_results_number": "100", "_facets_size": "0"},
    "date histogram by product": {"_results_number": "0", "_facets": "",
                                  "_histogram.date": "product",
                                  "_histogram_interval.date": "1d"},
}


def synthetic_crashes(count: int, seed: int = 1234):
    """(crash id, processed crash, date) with realistic skew: few signatures dominate."""
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    signatures = [f"mozilla::module{i % 97}::Function{i}" for i in range(2000)]
    weights = [1 / (rank + 1) for rank in range(len(signatures))]
    products = {"Firefox": ["120.0", "121.0b3", "121.0b5", "119.0.1", "122.0a1"],
                "Fennec": ["68.12", "68.11"], "Thunderbird": ["115.5.0", "115.6.0"],
                "Focus": ["120.1"]}
    oses = ["Windows NT", "Windows NT", "Windows NT", "Mac OS X", "Linux", "Android"]
    for _ in range(count):
        when = now - dt.timedelta(seconds=rng.uniform(0, 14 * 86400))
        product = rng.choices(list(products), weights=[70, 10, 15, 5])[0]
        crash_id = create_crash_id(when)
        processed = {
            "uuid": crash_id, "date_processed": when.isoformat(),
            "signature": rng.choices(signatures, weights=weights)[0],
            "product": product, "version": rng.choice(products[product]),
            "release_channel": rng.choice(["release", "beta", "nightly"]),
            "build": 20240000000000 + rng.randrange(10**8),
            "os_name": rng.choice(oses), "cpu_arch": rng.choice(["x86", "amd64", "arm64"]),
            "uptime": int(rng.expovariate(1 / 600)), "install_age": rng.randrange(10**7),
            "install_time": 1700000000 + rng.randrange(5000) * 3600,
            "reason": rng.choice(["EXCEPTION_ACCESS_VIOLATION_READ", "SIGSEGV", "SIGABRT"]),
            "address": hex(rng.randrange(2**16)), "startup_crash": rng.random() < 0.1,
            "process_type": rng.choice(["parent", "content", "gpu"]),
            "user_comments": "it crashed" if rng.random() < 0.05 else None,
        }
        yield crash_id, processed, when


def engines() -> list[tuple[SearchEngine, str | None]]:
    """(engine, url): the stack's own (url None: from the settings) and the listed ones."""
    pairs: list[tuple[SearchEngine, str | None]] = [(WebappSettings().search_engine, None)]
    for item in os.environ.get("CRASHLINE_TEST_SEARCH_ENGINES", "").split():
        name, _, url = item.partition("=")
        pairs.append((SearchEngine(name), url))
    return pairs


def bulk_index(backend, count: int, crashes=None) -> list[str]:
    """Index ``crashes`` (default: ``count`` synthetic ones); returns the indices."""
    indices: set[str] = set()
    started = time.perf_counter()
    batch = []
    for crash_id, processed, when in crashes or synthetic_crashes(count):
        index = backend.namer.for_date(when)
        indices.add(index)
        batch.append((index, crash_id, search_document(crash_id, processed)))
        if len(batch) == 5000:
            assert not backend.index_documents(batch)
            batch = []
    assert not backend.index_documents(batch)
    for index in indices:
        backend.refresh(index)
    print(f"indexed {count} crashes into {len(indices)} indices in "
          f"{time.perf_counter() - started:.1f}s")
    return sorted(indices)


def start_webapp(env: dict[str, str], log_path: Path) -> ServiceProcess:
    port = free_port(range(18080, 18100))
    # inherit_env: CRASHLINE_* variables of the shell running the benchmark apply too
    webapp = ServiceProcess("crashline-webapp", {
        **env, "CRASHLINE_WEBAPP_BIND": f"127.0.0.1:{port}", "CRASHLINE_LOG_LEVEL": "WARNING"},
        port, log_path, inherit_env=True)
    try:
        return webapp.wait_ready(60)
    except AssertionError:
        webapp.stop()
        raise


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def measure(session: requests.Session, api: str, engine: str, params: dict,
            count: int, headers: dict[str, str]) -> tuple[list[float], list[float]]:
    api_times, bare_times = [], []
    for i in range(count + 5):  # the first 5 warm up
        # The very request the API sends to the engine, with this moment's window (untimed).
        issued = session.get(api + "/api/SuperSearch/",
                             params={**params, "_return_query": "true"}, headers=headers,
                             timeout=60).json()
        start = time.perf_counter()
        response = session.get(api + "/api/SuperSearch/", params=params, headers=headers,
                               timeout=60)
        api_time = time.perf_counter() - start
        assert response.status_code == 200, response.text
        start = time.perf_counter()
        bare = session.post(f"{engine}/{','.join(issued['indices'])}/_search",
                            params=BARE_PARAMS, json=issued["query"], timeout=60)
        bare_time = time.perf_counter() - start
        assert bare.status_code == 200, bare.text
        if i >= 5:
            api_times.append(api_time * 1000)
            bare_times.append(bare_time * 1000)
    return api_times, bare_times


def bench_engine(engine: SearchEngine, url: str | None, args) -> None:
    env = {"CRASHLINE_SEARCH_INDEX_TEMPLATE": TEMPLATE, "CRASHLINE_SEARCH_ENGINE": engine.value,
           # Counted like production, but never limiting the benchmark itself.
           "CRASHLINE_WEBAPP_RATE_LIMIT_ANONYMOUS": "100000000",
           "CRASHLINE_WEBAPP_RATE_LIMIT_AUTHENTICATED": "100000000",
           "CRASHLINE_WEBAPP_WORKERS": "2", "CRASHLINE_WEBAPP_THREADS": "2"}
    if url:
        env["CRASHLINE_SEARCH_URL"] = url
    settings = WebappSettings(**{k.removeprefix("CRASHLINE_").lower(): v
                                 for k, v in env.items()})
    backend = search_from_settings(settings)
    info = backend.check()
    print(f"\n--- {info['engine']} {info['version']} at {settings.search_url}")
    indices = bulk_index(backend, args.crashes)
    work = Path(tempfile.mkdtemp(prefix="crashline-bench-webapp-"))
    webapp = start_webapp(env, work / "webapp.log")
    api = webapp.url
    try:
        session = requests.Session()
        callers = {"anonymous": {}, "token": {"Auth-Token": args.token}}
        runs: dict[tuple[str, str], list[tuple[float, float, float, float]]] = {
            (caller, name): [] for caller in callers for name in SEARCHES}
        for _ in range(args.repeat):
            for caller, headers in callers.items():
                for name, params in SEARCHES.items():
                    api_times, bare_times = measure(session, api, settings.search_url, params,
                                                    args.requests, headers)
                    runs[caller, name].append((
                        percentile(api_times, 50), percentile(api_times, 95),
                        percentile(bare_times, 50), percentile(bare_times, 95)))
        print(f"{args.crashes} crashes, {args.requests} requests x {args.repeat} runs "
              "(medians of the runs), milliseconds")
        print(f"{'caller':10} {'search':28} {'API p50':>8} {'API p95':>8} {'bare p50':>9} "
              f"{'bare p95':>9} {'p95 ratio':>9}")
        for (caller, name), figures in runs.items():
            a50, a95, b50, b95 = (statistics.median(f[i] for f in figures) for i in range(4))
            verdict = "ok" if a95 <= 1.3 * b95 else "over target"
            print(f"{caller:10} {name:28} {a50:8.1f} {a95:8.1f} {b50:9.1f} {b95:9.1f} "
                  f"{a95 / b95:8.2f}x  {verdict}")
    finally:
        webapp.stop()
        shutil.rmtree(work, ignore_errors=True)
        for index in indices:
            backend.delete_index(index)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crashes", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    db = database_from_settings(WebappSettings())
    apply_migrations(db)
    # A token-authenticated caller, as scripts are: a user of its own, deleted afterwards.
    accounts = AccountStore(db)
    user = f"bench-webapp-{uuid.uuid4().hex[:8]}"
    accounts.create_user(user, None, permissions=["view_pii"])
    args.token, _ = accounts.create_token(user, ["view_pii"])
    try:
        for engine, url in engines():
            bench_engine(engine, url, args)
    finally:
        with db.transaction() as cur:
            cur.execute("DELETE FROM users WHERE username = %s", (user,))
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
