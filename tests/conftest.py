"""Shared fixtures.

Integration tests talk to the real services of the local stack (``make stack``). Each test
session works in its own namespace (queue prefix, index template, bucket, storage folder),
so tests never see the data of ``make run`` or of another run. ``crashline_env`` gives the
same settings as environment variables, for tests that start service processes. Tests that
measure what they did (the reliability suite, the fuzzers) report it through ``figures``,
printed at the end of the run whatever pytest captured.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg2
import pytest
from harness.shared import CORPUS

from crashline.common.settings import CommonSettings, SearchEngine, StorageBackend

ROOT = Path(__file__).resolve().parent.parent

RUN_ID = uuid.uuid4().hex[:8]
_FIGURES_KEY = pytest.StashKey[list[tuple[str, list[str]]]]()


@pytest.fixture
def figures(request):
    """``figures(title, lines)``: printed in the run's summary."""
    store = request.config.stash.setdefault(_FIGURES_KEY, [])
    return lambda title, lines: store.append((title, list(lines)))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    store = config.stash.get(_FIGURES_KEY, [])
    if store:
        terminalreporter.section("figures")
        for title, lines in store:
            terminalreporter.write_line(title)
            for line in lines:
                terminalreporter.write_line(f"  {line}")


def _test_env(tmp_root: Path) -> dict[str, str]:
    base = CommonSettings()
    dsn = os.environ.get("CRASHLINE_TEST_DATABASE_URL") or (
        base.database_url.rsplit("/", 1)[0] + "/crashline_test"
    )
    env = {
        "CRASHLINE_STORAGE_BACKEND": "local",
        "CRASHLINE_STORAGE_PATH": str(tmp_root / "crashes"),
        "CRASHLINE_STORAGE_FSYNC": "false",
        "CRASHLINE_S3_BUCKET": f"crashline-test-{RUN_ID}",
        "CRASHLINE_QUEUE_PREFIX": f"crashline-test-{RUN_ID}",
        "CRASHLINE_SEARCH_INDEX_TEMPLATE": f"crashline-test-{RUN_ID}-%Y%W",
        "CRASHLINE_DATABASE_URL": dsn,
        # Where the backends are, as this process sees them, so subprocesses use the same.
        "CRASHLINE_RABBITMQ_URL": base.rabbitmq_url,
        "CRASHLINE_SEARCH_ENGINE": base.search_engine.value,
        "CRASHLINE_SEARCH_URL": base.search_url,
        "CRASHLINE_LOG_FORMAT": "text",
        # No symbol store unless a test starts a webapp for it (harness.services.pipeline):
        # a processor must not ask whatever serves the default port.
        "CRASHLINE_SYMBOLS_STORE_URL": "",
    }
    if base.s3_endpoint_url:
        env["CRASHLINE_S3_ENDPOINT_URL"] = base.s3_endpoint_url
    return env


@pytest.fixture(scope="session")
def crashline_env(tmp_path_factory) -> dict[str, str]:
    """``CRASHLINE_*`` variables of this test session (merge into ``os.environ`` for
    subprocesses)."""
    return _test_env(tmp_path_factory.mktemp("crashline"))


@pytest.fixture(scope="session")
def settings(crashline_env) -> CommonSettings:
    return CommonSettings(
        **{k.removeprefix("CRASHLINE_").lower(): v for k, v in crashline_env.items()}
    )


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"the shared crash corpus is absent ({CORPUS})")
    return CORPUS


def _need(what: str, check) -> None:
    try:
        check()
    except Exception as exc:
        pytest.fail(f"{what} is not reachable ({exc}); start the local stack with `make stack`",
                    pytrace=False)


@pytest.fixture(scope="session")
def rabbitmq_client(settings):
    from crashline.common.queue import queue_from_settings

    client = queue_from_settings(settings)
    _need("RabbitMQ", client.check)
    yield client
    for name in client.names.all:  # leave no test queues behind
        try:
            client.channel.queue_delete(queue=name)
        except Exception:
            client.close()
    client.close()


@pytest.fixture(scope="session")
def search_backend(settings):
    from crashline.common.search import search_from_settings

    backend = search_from_settings(settings)
    _need("the search engine", backend.check)
    yield backend
    for name in backend.existing_indices():
        backend.delete_index(name)


def search_engines_under_test() -> list[tuple[SearchEngine, str | None]]:
    """(engine, url) of every real search engine of this run: the stack's own (url None:
    the session's settings) and those ``CRASHLINE_TEST_SEARCH_ENGINES`` lists as
    space-separated ``engine=url`` pairs (``make test`` lists the other product and the
    other Elasticsearch major)."""
    pairs: list[tuple[SearchEngine, str | None]] = [(CommonSettings().search_engine, None)]
    for item in os.environ.get("CRASHLINE_TEST_SEARCH_ENGINES", "").split():
        name, _, url = item.partition("=")
        pairs.append((SearchEngine(name), url))
    return pairs


def pytest_generate_tests(metafunc):
    """A test that takes ``engine_url`` runs once per engine under test."""
    if "engine_url" in metafunc.fixturenames:
        pairs = search_engines_under_test()
        metafunc.parametrize("engine_url", pairs,
                             ids=[f"{e.value}@{u or 'stack'}" for e, u in pairs])


@pytest.fixture(scope="session")
def search_backend_for(settings):
    """``(engine, url) -> backend`` on that engine (the session's own URL if url is None),
    in a fresh namespace of indices."""
    from crashline.common.search import search_from_settings

    def make(engine: SearchEngine, url: str | None):
        template = f"{settings.queue_prefix}-{uuid.uuid4().hex[:6]}-%Y%W"
        return search_from_settings(
            settings.model_copy(update={"search_engine": engine,
                                        "search_index_template": template}),
            url=url or settings.search_url)

    return make


@pytest.fixture
def engine_backend(search_backend_for, engine_url):
    """A backend per engine under test (see ``pytest_generate_tests``); its indices go at
    teardown."""
    backend = search_backend_for(*engine_url)
    _need(f"the search engine {engine_url[0].value} at {backend.url}", backend.check)
    yield backend
    for name in backend.existing_indices():
        backend.delete_index(name)


@pytest.fixture(scope="session")
def database(settings):
    from crashline.common.database import apply_migrations, database_from_settings

    db = database_from_settings(settings)
    _need("PostgreSQL", db.check)
    apply_migrations(db)
    yield db
    db.close()


@pytest.fixture(scope="session")
def s3_settings(settings) -> CommonSettings:
    return settings.model_copy(update={"storage_backend": StorageBackend.S3})


def _with_schema(dsn: str, schema: str) -> str:
    separator = "&" if "?" in dsn else "?"
    return f"{dsn}{separator}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(scope="session")
def make_schema(crashline_env, database) -> Iterator[Callable[[], str]]:
    """A function making a PostgreSQL schema of the test database with every migration
    applied; its URL. For tests of what is one per site (job states, the ledger, the status
    message), which must not see other test runs' rows nor show them theirs."""

    from crashline.common.database import Database, apply_migrations

    base = crashline_env["CRASHLINE_DATABASE_URL"]
    made: list[str] = []

    def make() -> str:
        schema = f"test_{uuid.uuid4().hex[:10]}"
        with psycopg2.connect(base) as conn, conn.cursor() as cur:
            cur.execute(f"CREATE SCHEMA {schema}")
        made.append(schema)
        url = _with_schema(base, schema)
        db = Database(url)
        apply_migrations(db)
        db.close()
        return url

    yield make
    conn = psycopg2.connect(base)
    conn.autocommit = True
    with conn.cursor() as cur:
        for schema in made:
            cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    conn.close()
