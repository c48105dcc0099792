"""Rendering pages: the Jinja2 environment (autoescaping on for every template), the helpers
templates use, the security headers of every page, and HTML error pages.

Every page, error pages included, gets the site's frame from ``chrome(req)``: who is
signed in, the CSRF token of their forms, and the status banner."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import urlencode

import falcon
from jinja2 import Environment, PackageLoader

from crashline.webapp.auth.middleware import is_api
from crashline.webapp.errors import APIError

# No script at all: every page works without JavaScript. Styles and images only from us.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
PAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HTML = "text/html; charset=utf-8"

Params = Mapping[str, list[str]] | Iterable[tuple[str, str]]


def is_page(req: falcon.Request) -> bool:
    """Pages, their static files and their errors (not the API, the symbol server, health
    or metrics)."""
    return not (is_api(req) or req.path.startswith(("/__", "/symbols/"))
                or req.path == "/metrics")


def _pairs(params: Params | None) -> list[tuple[str, str]]:
    if params is None:
        return []
    if isinstance(params, Mapping):
        return [(k, str(v)) for k, values in params.items()
                for v in (values if isinstance(values, list | tuple) else [values])]
    return list(params)


def url(path: str, params: Params | None = None, **changes: object) -> str:
    """``path`` with a query string: ``params`` with each keyword replacing that name (a
    list gives several values, None removes it)."""
    pairs = [(k, v) for k, v in _pairs(params) if k not in changes]
    for name, value in changes.items():
        if value is None:
            continue
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((name, str(v)) for v in values)
    return f"{path}?{urlencode(pairs)}" if pairs else path


def parse_when(value: object) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and value:
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return None


def format_when(value: object, seconds: bool = True) -> str:
    when = parse_when(value)
    if when is None:
        return "" if value is None else str(value)
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def format_duration(value: object) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "" if value is None else str(value)
    seconds = int(value)
    parts = []
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if abs(seconds) >= size:
            parts.append(f"{seconds // size} {unit}")
            seconds %= size
    if seconds or not parts:
        parts.append(f"{seconds} s")
    return " ".join(parts[:2])


def format_number(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else str(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


def format_bytes(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        return "" if value is None else str(value)
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return str(value)


def format_pct(part: float, whole: float, digits: int = 2) -> str:
    return f"{100 * part / whole:.{digits}f} %" if whole else "–"


def content_security_policy(script_nonce: str | None = None) -> str:
    """The pages' policy; a page with a script of ours (served from /static, never inline)
    allows that one script by its nonce, and requests to this site only."""
    if script_nonce is None:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace(
        "script-src 'none'", f"script-src 'nonce-{script_nonce}'; connect-src 'self'")


Chrome = Callable[[falcon.Request], dict]


class Renderer:
    def __init__(self, chrome: Chrome | None = None) -> None:
        self.env = Environment(
            loader=PackageLoader("crashline.webapp.pages", "templates"),
            autoescape=True, trim_blocks=True, lstrip_blocks=True,
            auto_reload=False)
        self.env.filters.update(when=format_when, duration=format_duration,
                                number=format_number, bytes=format_bytes)
        self.env.globals.update(url=url, pct=format_pct)
        self.chrome = chrome or (lambda req: {})

    def render(self, template: str, **context: object) -> str:
        return self.env.get_template(template).render(**context)

    def page(self, req: falcon.Request, resp: falcon.Response, template: str, *,
             status: str = falcon.HTTP_200, **context: object) -> None:
        resp.status = status
        resp.content_type = HTML
        resp.cache_control = ["private", "no-store"]
        resp.vary = ["Auth-Token", "Cookie"]
        resp.text = self.render(template, **{**self.chrome(req), **context})


class PageHeadersMiddleware:
    def process_response(self, req: falcon.Request, resp: falcon.Response, resource,
                         req_succeeded: bool) -> None:
        if is_page(req):
            for name, value in PAGE_HEADERS.items():
                resp.set_header(name, value)
            nonce = getattr(resp.context, "script_nonce", None)
            resp.set_header("Content-Security-Policy", content_security_policy(nonce))


def html_errors(renderer: Renderer, fallback: Callable) -> Callable:
    """An error serializer: an HTML page saying what went wrong for pages, ``fallback``
    (the API's JSON) for everything else."""

    def serialize(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError) -> None:
        if not is_page(req):
            fallback(req, resp, exc)
            return
        if isinstance(exc, APIError):
            message = exc.message
        elif isinstance(exc, falcon.HTTPNotFound | falcon.HTTPRouteNotFound):
            message = "There is no page at this address."
        else:
            message = exc.description or exc.title or "Error"
        resp.content_type = HTML
        resp.text = renderer.render(
            "error.html", **renderer.chrome(req), status=exc.status_code,
            title=exc.title or "Error", message=message)

    return serialize
