from pathlib import Path

import pytest
from pydantic import ValidationError

from crashline.common.settings import CommonSettings, SearchEngine, StorageBackend


def test_defaults_fit_the_local_stack(monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("CRASHLINE_"):
            monkeypatch.delenv(name)
    s = CommonSettings()
    assert s.storage_backend is StorageBackend.LOCAL
    assert s.rabbitmq_url.startswith("amqp://") and "127.0.0.1:5672" in s.rabbitmq_url
    assert s.search_url == "http://127.0.0.1:9200"
    assert s.search_engine is SearchEngine.ELASTICSEARCH
    assert s.s3_endpoint_url == "http://127.0.0.1:5000"
    assert "127.0.0.1:5432" in s.database_url
    assert s.queue_prefix == "crashline"
    assert s.search_index_template == "crashline-%Y%W"


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("CRASHLINE_STORAGE_BACKEND", "s3")
    monkeypatch.setenv("CRASHLINE_STORAGE_PATH", "/srv/crashes")
    monkeypatch.setenv("CRASHLINE_SEARCH_ENGINE", "elasticsearch")
    monkeypatch.setenv("CRASHLINE_DATABASE_POOL_MAX", "3")
    s = CommonSettings()
    assert s.storage_backend is StorageBackend.S3
    assert s.storage_path == Path("/srv/crashes")
    assert s.search_engine is SearchEngine.ELASTICSEARCH
    assert s.database_pool_max == 3


def test_secrets_are_not_printed(monkeypatch):
    monkeypatch.setenv("CRASHLINE_S3_SECRET_ACCESS_KEY", "hunter2")
    s = CommonSettings()
    assert "hunter2" not in repr(s)
    assert s.s3_secret_access_key.get_secret_value() == "hunter2"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CRASHLINE_STORAGE_BACKEND", "floppy"),
        ("CRASHLINE_SEARCH_ENGINE", "solr"),
        ("CRASHLINE_DATABASE_POOL_MAX", "0"),
        ("CRASHLINE_LOG_FORMAT", "xml"),
    ],
)
def test_bad_values_are_refused_with_the_setting_named(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as info:
        CommonSettings()
    assert name.removeprefix("CRASHLINE_").lower() in str(info.value)
