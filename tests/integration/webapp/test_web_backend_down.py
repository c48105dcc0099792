"""A backend that fails answers 503 naming it, on every endpoint that needs it."""

from __future__ import annotations

import falcon.testing
import pytest

from crashline.common.crashid import create_crash_id
from crashline.common.search.client import SearchError
from crashline.common.storage import CrashStorage, ObjectStore, StorageError
from crashline.webapp.app import create_app
from crashline.webapp.services import Services

pytestmark = pytest.mark.integration


class BrokenStore(ObjectStore):
    def _fail(self, *args, **kwargs):
        raise StorageError("disk on fire")

    put = get = exists = delete = list_keys = _fail


@pytest.fixture
def broken(web_settings, database, web_search, rabbitmq_client, monkeypatch):
    monkeypatch.setattr(web_search, "get_document",
                        lambda *a: (_ for _ in ()).throw(SearchError("engine on fire")))
    services = Services(web_settings, db=database, search=web_search,
                        storage=CrashStorage(BrokenStore()))
    return falcon.testing.TestClient(create_app(web_settings, services))


@pytest.mark.parametrize("endpoint", ["ProcessedCrash", "RawCrash"])
def test_storage_down_is_a_503(broken, endpoint):
    response = broken.simulate_get(f"/api/{endpoint}/",
                                   params={"crash_id": create_crash_id()})
    assert response.status_code == 503
    assert response.json["error"].startswith("Crash storage")


def test_search_down_is_a_503_in_crash_verify(broken):
    response = broken.simulate_get("/api/CrashVerify/", params={"crash_id": create_crash_id()})
    assert response.status_code == 503
    assert response.json["error"].startswith("The search engine")


def test_database_down_is_a_503(web_settings, web_search, rabbitmq_client):
    from crashline.common.database import Database

    services = Services(web_settings, db=Database("postgresql://crashline:x@127.0.0.1:1/none"),
                        search=web_search)
    client = falcon.testing.TestClient(create_app(web_settings, services))
    response = client.simulate_get("/api/SignatureFirstDate/", params={"signatures": "x"})
    assert response.status_code == 503
    assert response.json["error"].startswith("The database")
