"""Fixtures for the collector's integration tests: the real RabbitMQ and both crash-storage
backends (local disk and the S3 endpoint of the local stack), the app in process."""

from __future__ import annotations

import pytest
from falcon import testing

from crashline.collector.app import create_app
from crashline.collector.settings import CollectorSettings
from crashline.common.storage import storage_from_settings


def collector_settings_from(env: dict[str, str], **overrides) -> CollectorSettings:
    values = {k.removeprefix("CRASHLINE_").lower(): v for k, v in env.items()}
    return CollectorSettings(**{**values, "collector_retry_backoff": 0.01, **overrides})


@pytest.fixture
def settings_from_env(crashline_env):
    """``settings_from_env(**overrides)``: collector settings of this test session."""
    return lambda **overrides: collector_settings_from(crashline_env, **overrides)


@pytest.fixture(params=["local", "s3"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def make_collector(crashline_env, rabbitmq_client, backend):
    """``make_collector(**settings) -> (client, settings, storage)``, queues purged."""
    for name in rabbitmq_client.names.all:
        rabbitmq_client.channel.queue_purge(queue=name)

    def make(**overrides):
        settings = collector_settings_from(crashline_env, storage_backend=backend, **overrides)
        storage = storage_from_settings(settings)
        try:
            storage.check()
        except Exception as exc:
            pytest.fail(f"crash storage ({backend}) is not reachable ({exc}); start the local "
                        f"stack with `make stack`", pytrace=False)
        app = create_app(settings, configure_logging=False)
        return testing.TestClient(app), settings, storage

    return make
