"""The whole pipeline: a crash submitted over HTTP to the collector, processed by a worker,
found through the webapp's API, in crash storage and in PostgreSQL.

Every process is a real one (gunicorn collector and webapp, a ``crashline-processor``
worker with ``minidump-stackwalk``) over the real RabbitMQ, OpenSearch, PostgreSQL and crash
storage of the local stack.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import requests
from harness.services import BIN, wait_for
from harness.services import pipeline as pipeline_services
from processor_support.minidump import build_minidump, symbol_file

from crashline.common.crashid import is_valid_crash_id
from crashline.common.storage import storage_from_settings

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pipeline(crashline_env, database, search_backend, rabbitmq_client, tmp_path_factory):
    """Collector, one processor worker and the webapp of this test session."""
    tmp = tmp_path_factory.mktemp("pipeline")
    symbols = tmp / "symbols"
    symbol_file(symbols)
    corpus_symbols = Path(__file__).resolve().parents[2].parent / "shared/corpus/symbols"
    symbol_dirs = [str(symbols)] + ([str(corpus_symbols)] if corpus_symbols.is_dir() else [])
    with pipeline_services(crashline_env, tmp, symbol_dirs) as services:
        yield {**services, "tmp": tmp}


def submit(pipeline, dump: Path, *annotations: str) -> str:
    args = [str(BIN / "crashline"), "submit", "--url", f"{pipeline['collector'].url}/submit",
            "--dump", str(dump)]
    for annotation in annotations:
        args += ["-a", annotation]
    out = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    crash_id = out.stdout.strip()
    assert is_valid_crash_id(crash_id), out.stdout
    return crash_id


def api(pipeline, endpoint: str, **params) -> requests.Response:
    return requests.get(f"{pipeline['webapp'].url}/api/{endpoint}/", params=params, timeout=30)


def wait_searchable(pipeline, crash_id: str, timeout: float = 60) -> dict:
    def found():
        processor = pipeline["processor"]
        if processor.proc.poll() is not None:
            raise AssertionError(f"processor died:\n{processor.logs()}")
        response = api(pipeline, "SuperSearch", uuid=crash_id,
                       _columns=["uuid", "signature", "product", "version"])
        if response.status_code == 503:
            # The weekly index the processor is creating right now has no active shard
            # yet: the API says "try again later", so we do.
            return None
        assert response.status_code == 200, response.text
        hits = response.json()["hits"]
        return hits[0] if hits else None

    return wait_for(found, timeout, f"crash {crash_id} to be searchable")


def test_synthetic_crash_travels_the_whole_pipeline(pipeline, settings, database):
    dump = pipeline["tmp"] / "synthetic.dmp"
    dump.write_bytes(build_minidump())
    crash_id = submit(pipeline, dump, "ProductName=Pipeline", "Version=2.5",
                      "ReleaseChannel=beta", "BuildID=20261101000000")

    hit = wait_searchable(pipeline, crash_id)
    assert hit == {"uuid": crash_id, "signature": "CrashHere", "product": "Pipeline",
                   "version": "2.5"}

    # Searchable by its signature, with the facet counting it.
    response = api(pipeline, "SuperSearch", signature="=CrashHere", product="Pipeline",
                   _facets="signature")
    body = response.json()
    assert response.status_code == 200
    assert crash_id in [h["uuid"] for h in body["hits"]]
    assert {"term": "CrashHere", "count": 1} in body["facets"]["signature"]

    # The processed crash through the API and in storage agree.
    processed = api(pipeline, "ProcessedCrash", crash_id=crash_id).json()
    stored = storage_from_settings(settings).get_processed_crash(crash_id)
    assert processed["signature"] == stored["signature"] == "CrashHere"
    assert stored["product"] == "Pipeline" and stored["mdsw_status_string"] == "OK"

    # Every store holds it.
    verify = api(pipeline, "CrashVerify", crash_id=crash_id).json()
    assert verify["raw_crash"] and verify["processed_crash"]
    assert verify["elasticsearch_crash"]

    # PostgreSQL: the signature's first sighting and the product's version.
    with database.transaction() as cur:
        cur.execute("SELECT first_build FROM signatures WHERE signature = %s", ("CrashHere",))
        row = cur.fetchone()
        cur.execute("SELECT 1 FROM product_versions WHERE product = %s AND version = %s",
                    ("Pipeline", "2.5"))
        version_seen = cur.fetchone()
    assert row is not None and row["first_build"] <= 20261101000000
    assert version_seen is not None


def test_corpus_windows_crash_is_symbolicated_and_searchable(pipeline, corpus):
    crash_id = submit(pipeline, corpus / "minidumps/windows-x86-test_app.dmp",
                      "ProductName=TestApp", "Version=1.0")
    hit = wait_searchable(pipeline, crash_id)
    assert hit["signature"] == "(anonymous namespace)::CrashFunction"

    processed = api(pipeline, "ProcessedCrash", crash_id=crash_id).json()
    frame = processed["json_dump"]["crashing_thread"]["frames"][0]
    assert frame["function"] == "`anonymous namespace'::CrashFunction"
    assert frame["file"] == "c:\\test_app.cc" and frame["line"] == 58
    assert processed["reason"] == "EXCEPTION_ACCESS_VIOLATION_WRITE"
    assert int(processed["address"], 16) == 0x45


def test_corrupt_dump_is_processed_with_an_empty_signature(pipeline, corpus):
    crash_id = submit(pipeline, corpus / "minidumps/invalid-range.dmp", "ProductName=TestApp")
    hit = wait_searchable(pipeline, crash_id)
    assert hit["signature"].startswith("EMPTY: ")
    assert pipeline["processor"].proc.poll() is None  # the worker goes on
