"""Fixtures for the crontabber's tests: the real PostgreSQL, RabbitMQ, search engine and crash
storage, in a namespace of the crontabber's own.

The runner's state and the ledger are singletons (one row per job, one per hour), so each
test session keeps them in a PostgreSQL schema of its own (``search_path`` in the database
URL), and tests that run the real job registry get a fresh schema each. Queues, indices and
the storage folder are the session's with a ``cron`` suffix, so the jobs see only what these
tests put there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from crontabber_support import namespaced, settings_from_env

from crashline.common.database import Database
from crashline.crontabber.job import Backends
from crashline.crontabber.settings import CrontabberSettings

UTC = dt.UTC


@pytest.fixture(scope="session")
def cron_env(crashline_env, make_schema, tmp_path_factory) -> dict[str, str]:
    """The session's ``CRASHLINE_*`` variables, in the crontabber's namespace."""
    return namespaced(crashline_env, "cron", make_schema(),
                      str(tmp_path_factory.mktemp("cron-crashes")))


@pytest.fixture(scope="session")
def cron_settings(cron_env) -> CrontabberSettings:
    return settings_from_env(cron_env)


@pytest.fixture(scope="session")
def cron_db(cron_settings) -> Iterator[Database]:
    db = Database(cron_settings.database_url)
    yield db
    db.close()


@pytest.fixture(scope="session")
def backends(cron_settings, cron_db, search_backend, rabbitmq_client) -> Iterator[Backends]:
    """The jobs' backends (the session fixtures check that each one answers)."""
    made = Backends(cron_settings, cron_db)
    yield made
    queue = made.queue
    for name in queue.names.all:
        try:
            queue.channel.queue_delete(queue=name)
        except Exception:
            queue.close()
    for name in made.search.existing_indices():
        made.search.delete_index(name)
    made.close()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, text: str) -> dt.datetime:
        self.now = dt.datetime.fromisoformat(text).replace(tzinfo=UTC)
        return self.now

    def advance(self, **delta) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime(2026, 5, 10, 10, 20, tzinfo=UTC))
