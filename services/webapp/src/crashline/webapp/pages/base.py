"""What every page resource shares: the services it reads through and how it reads its own
parameters (the API's validation, so a bad value gets the same clear message)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import falcon
from pydantic import BaseModel

from crashline.webapp.auth.principal import Principal
from crashline.webapp.catalog import Catalog
from crashline.webapp.crashes import CrashService
from crashline.webapp.errors import ParamError, bad_param
from crashline.webapp.pages.render import Renderer
from crashline.webapp.pages.sources import SourceLinks
from crashline.webapp.params import query_params, validate
from crashline.webapp.settings import WebappSettings
from crashline.webapp.supersearch.service import SuperSearch


@dataclass(frozen=True)
class PageContext:
    settings: WebappSettings
    renderer: Renderer
    search: SuperSearch
    crashes: CrashService
    catalog: Catalog
    sources: SourceLinks


class Page:
    def __init__(self, ctx: PageContext):
        self.ctx = ctx

    @staticmethod
    def principal(req: falcon.Request) -> Principal:
        return req.context.principal

    def render(self, req: falcon.Request, resp: falcon.Response, template: str, *,
               status: str = falcon.HTTP_200, **context: object) -> None:
        self.ctx.renderer.page(resp, template, self.principal(req), status=status,
                               request_path=req.path, **context)

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
