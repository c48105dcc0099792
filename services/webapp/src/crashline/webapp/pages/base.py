"""What every page resource shares: the services it reads through, how it reads its own
parameters (the API's validation, so a bad value gets the same clear message) and its
forms, and who may see it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import falcon
from pydantic import BaseModel

from crashline.common.annotations import AnnotationPolicy
from crashline.webapp.api.base import body_params
from crashline.webapp.auth.audit import AuditLog
from crashline.webapp.auth.middleware import TOKEN_HEADER
from crashline.webapp.auth.principal import ADMIN, Principal
from crashline.webapp.auth.sessions import Cookies, Session, SessionStore
from crashline.webapp.auth.store import AccountStore
from crashline.webapp.catalog import Catalog
from crashline.webapp.crashes import CrashService
from crashline.webapp.errors import ParamError, bad_param, forbidden, permission_required
from crashline.webapp.monitoring import Monitor
from crashline.webapp.pages.render import Renderer, url
from crashline.webapp.pages.sources import SourceLinks
from crashline.webapp.params import query_params, validate
from crashline.webapp.ratelimit import RateLimiter
from crashline.webapp.settings import WebappSettings
from crashline.webapp.sitestatus import SiteStatus
from crashline.webapp.supersearch.service import SuperSearch


@dataclass(frozen=True)
class PageContext:
    settings: WebappSettings
    renderer: Renderer
    search: SuperSearch
    crashes: CrashService
    catalog: Catalog
    sources: SourceLinks
    accounts: AccountStore
    sessions: SessionStore
    cookies: Cookies
    audit: AuditLog
    status: SiteStatus
    limiter: RateLimiter
    monitor: Monitor
    annotations: AnnotationPolicy
    openapi: dict


class Page:
    # Pages that run searches are rate-limited like the API (see ratelimit.py).
    searches = False

    def __init__(self, ctx: PageContext):
        self.ctx = ctx

    @staticmethod
    def principal(req: falcon.Request) -> Principal:
        return req.context.principal

    def render(self, req: falcon.Request, resp: falcon.Response, template: str, *,
               status: str = falcon.HTTP_200, **context: object) -> None:
        self.ctx.renderer.page(req, resp, template, status=status, **context)

    @staticmethod
    def form(req: falcon.Request) -> dict[str, list[str]]:
        """The fields of a POSTed form (read once, also by the CSRF check)."""
        return body_params(req)

    @staticmethod
    def field(form: Mapping[str, list[str]], name: str, default: str = "") -> str:
        values = form.get(name)
        return values[0] if values else default

    @staticmethod
    def see_other(resp: falcon.Response, location: str) -> None:
        """Answer a form with a redirect (keeping the cookies set on ``resp``)."""
        resp.status = falcon.HTTP_303
        resp.location = location
        resp.cache_control = ["no-store"]

    def signed_in(self, req: falcon.Request) -> tuple[Principal, Session]:
        """The user signed in with a session. Account pages refuse API tokens: a token that
        leaks must not be able to mint more tokens or change the account."""
        session = req.context.session
        if session is not None:
            return self.principal(req), session
        if req.get_header(TOKEN_HEADER) is not None:
            raise forbidden("Sign in to use this page: API tokens cannot manage accounts.")
        if req.method == "GET":
            raise falcon.HTTPSeeOther(url("/login/", next=req.relative_uri))
        raise forbidden("Sign in to use this page.")

    def admin(self, req: falcon.Request) -> tuple[Principal, Session]:
        principal, session = self.signed_in(req)
        if not principal.has(ADMIN):
            raise permission_required(ADMIN)
        return principal, session

    @staticmethod
    def read(req: falcon.Request, model: type[BaseModel],
             extra: Callable[[str], bool] | None = None
             ) -> tuple[BaseModel, dict[str, list[str]]]:
        """The page's own parameters validated by ``model``; the ones ``extra`` accepts
        (search filters) come back apart. A bad value answers 400 naming it."""
        try:
            return validate(model, query_params(req), extra)
        except ParamError as exc:
            raise bad_param(exc.param, exc.message) from None

    def search(self, req: falcon.Request, params: Mapping[str, list[str]]) -> dict:
        """A Super Search as the caller may run it (bad parameters answer 400)."""
        # A page that searches must say so, or its searches escape the page rate limits.
        assert self.searches, f"{type(self).__name__} searches: set searches = True"
        return self.ctx.search.run(params, self.principal(req))


def exact(value: str) -> str:
    """A Super Search value that matches ``value`` exactly, whatever it starts with."""
    return "=" + value


_CHUNKS = re.compile(r"(\d+)")


def version_key(version: str) -> tuple:
    """Natural order of version strings (``120.0b10`` after ``120.0b9``)."""
    return tuple((0, int(part)) if part.isdigit() else (1, part)
                 for part in _CHUNKS.split(version) if part)


def newest_first(versions: list[str]) -> list[str]:
    return sorted(versions, key=version_key, reverse=True)
