"""A signed-in browser, as far as the webapp can tell: a Falcon test client over a webapp in
a PostgreSQL schema of its own (the status message, job states and ledger are one per site,
and the rate-limit counters one per address: other test runs must not share them), that
keeps the cookies the webapp sets and fills in the CSRF token of each form, as a browser
submitting the page's form would."""

from __future__ import annotations

import re
import uuid

import falcon.testing

from crashline.common.database import Database
from crashline.webapp.app import create_app
from crashline.webapp.auth.store import AccountStore
from crashline.webapp.services import Services

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery"


class Browser:
    """Each browser comes from an address of its own (``X-Real-IP``, which the test site
    trusts), so tests do not share the per-address rate limits."""

    def __init__(self, client: falcon.testing.TestClient,
                 origin: str = "http://falconframework.org"):
        self.client = client
        self.cookies: dict[str, str] = {}
        self.origin = origin
        self.address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.1"

    def _keep(self, response) -> None:
        for name, cookie in response.cookies.items():
            if cookie.value:
                self.cookies[name] = cookie.value
            else:
                self.cookies.pop(name, None)

    def get(self, path: str, **kwargs):
        headers = {"X-Real-IP": self.address, **kwargs.pop("headers", {})}
        response = self.client.simulate_get(path, cookies=self.cookies, headers=headers,
                                            **kwargs)
        self._keep(response)
        return response

    def csrf(self, path: str) -> str:
        """The CSRF token of the first form of the page at ``path``."""
        page = self.get(path)
        found = CSRF_FIELD.search(page.text)
        assert found, f"no form with a CSRF token on {path}: {page.status_code} {page.text[:500]}"
        return found.group(1)

    def post(self, path: str, form: dict | list, *, token: str | None = None,
             headers: dict | None = None, with_token: bool = True):
        """POST a form; its CSRF token is ``token``, else the one of the session's pages."""
        pairs = list(form.items()) if isinstance(form, dict) else list(form)
        if with_token:
            pairs.append(("csrf_token", token if token is not None
                          else self.csrf("/documentation/")))
        body = "&".join(f"{falcon.uri.encode_value(k)}={falcon.uri.encode_value(str(v))}"
                        for k, v in pairs)
        response = self.client.simulate_post(
            path, body=body, cookies=self.cookies,
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Origin": self.origin, "X-Real-IP": self.address, **(headers or {})})
        self._keep(response)
        return response

    def sign_in(self, username: str, password: str = PASSWORD):
        token = self.csrf("/login/")
        response = self.post("/login/", {"username": username, "password": password,
                                         "next": "/"}, token=token)
        assert response.status_code == 303, (response.status_code, response.text[-2000:])
        return response


def site_app(settings, web_search, database_url: str):
    """A webapp whose database is the schema at ``database_url``; (client, accounts, db)."""
    db = Database(database_url)
    services = Services(settings, db=db, search=web_search)
    return falcon.testing.TestClient(create_app(settings, services)), AccountStore(db), db


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6]}"
