"""The documentation pages, generated from what the code knows: the data dictionary from
the field registry and the annotation policy, the API reference from the OpenAPI document
(with a "try it" form per operation), the Super Search guide from the operators and
parameters the API validates, and the page that shows a new team how to send crashes here.

The API reference is the one page with a script (``static/apidoc.js``, from /static, with a
per-response nonce and its SRI hash: never inline); without JavaScript its forms still call
the API anonymously.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import falcon

from crashline.common.fields import CRASHPAD_ANNOTATIONS, FIELDS, FieldDef, FieldType
from crashline.webapp.auth.middleware import TOKEN_HEADER
from crashline.webapp.dictionary import data_dictionary
from crashline.webapp.pages.base import Page
from crashline.webapp.pages.render import url
from crashline.webapp.pages.search import OPERATORS
from crashline.webapp.params import NoParams
from crashline.webapp.supersearch.params import (
    DEFAULT_COLUMNS,
    MAX_RESULTS_NUMBER,
    MAX_WINDOW,
    meta_fields,
)

STATIC = Path(__file__).resolve().parent / "static"
API_SCRIPT = "apidoc.js"
# Operations with more parameters than this get inputs for the usual ones only, and a box
# for any other query string.
MAX_INPUTS = 10
USUAL_PARAMS = ("product", "version", "signature", "date", "_columns", "_facets",
                "_results_number")
# The annotations a team should send first: what the pages group crashes by; then the ones
# the pages use next (channels, builds, processes, installations, startup crashes, comments).
ESSENTIAL_FIELDS = ("product", "version")
RECOMMENDED_FIELDS = ("release_channel", "build_id", "process_type", "install_time",
                     "startup_crash", "user_comments")
UPLOAD_SYMBOLS_PATH = "/api/UploadSymbols/"

# Super Search operator prefixes as the registry names them -> what the search form says.
_LABELS = dict(OPERATORS)
OPERATOR_LABELS = {"has": _LABELS[""], "__null__": "exists / does not exist",
                   "__true__": "is true / is false",
                   **{op: _LABELS[op] for op in ("=", "~", "^", "$", "@", ">", ">=", "<", "<=")}}


def operator_labels(fdef: FieldDef) -> list[str]:
    return [OPERATOR_LABELS[op] for op in fdef.operators]


def example_search(fdef: FieldDef) -> str:
    """A search that uses the field: its first example if it has one, else the crashes that
    have it, with the field as a facet or a column."""
    params: dict[str, object] = {}
    if fdef.examples and fdef.type in (FieldType.STRING, FieldType.ENUM):
        params[fdef.name] = "=" + fdef.examples[0]
    elif fdef.examples and fdef.type is not FieldType.DATE:
        params[fdef.name] = fdef.examples[0]
    elif fdef.type is FieldType.BOOLEAN:
        params[fdef.name] = "__true__"
    else:
        params[fdef.name] = "!__null__"
    if fdef.facetable:
        params["_facets"] = fdef.name
    elif fdef.returnable:
        params["_columns"] = ["uuid", "date", fdef.name]
    return url("/search/", **params)


class DocumentationIndex(Page):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.read(req, NoParams)
        self.render(req, resp, "documentation/index.html")


class DataDictionaryPage(Page):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.read(req, NoParams)
        dictionary = data_dictionary(self.ctx.annotations)
        categories: dict[str, list[FieldDef]] = {}
        for fdef in FIELDS:
            categories.setdefault(fdef.category, []).append(fdef)
        self.render(req, resp, "documentation/datadictionary.html", categories=categories,
                    operators=operator_labels, example=example_search,
                    annotations=dictionary["annotations"],
                    processed=dictionary["processed_crash"], field_count=len(FIELDS))


class SuperSearchGuide(Page):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.read(req, NoParams)
        meta = [(info.alias, info.description) for _, info in meta_fields().values()]
        today = dt.datetime.now(dt.UTC).date()
        self.render(req, resp, "documentation/supersearch.html", operators=OPERATORS,
                    meta=meta, default_columns=DEFAULT_COLUMNS,
                    max_results=MAX_RESULTS_NUMBER, max_window=MAX_WINDOW,
                    week_ago=(today - dt.timedelta(days=7)).isoformat(),
                    limits=(self.ctx.settings.webapp_rate_limit_search_anonymous,
                            self.ctx.settings.webapp_rate_limit_search_authenticated,
                            self.ctx.settings.webapp_rate_limit_window),
                    protected=[f.name for f in FIELDS if not f.public][:8])


@dataclass
class ApiOperation:
    """One operation of the OpenAPI document, as the reference page shows it."""

    name: str
    method: str
    path: str
    summary: str
    description: str
    permission_needed: bool
    params: list[dict]
    inputs: list[dict] = field(default_factory=list)   # the try-it form's inputs
    more_params: bool = False                          # more than the inputs: a box for them
    body: str | None = None                            # "form", "json" or "file"
    responses: dict[str, str] = field(default_factory=dict)

    @property
    def anchor(self) -> str:
        return f"{self.name}-{self.method.lower()}"


def api_operations(document: Mapping) -> list[ApiOperation]:
    operations = []
    for path, item in document.get("paths", {}).items():
        for method, op in item.items():
            params = list(op.get("parameters", []))
            body = None
            content = (op.get("requestBody") or {}).get("content", {})
            if "application/x-www-form-urlencoded" in content:
                schema = content["application/x-www-form-urlencoded"]["schema"]
                required = set(schema.get("required", []))
                params = [{"name": name, "schema": prop, "required": name in required,
                           "description": prop.get("description", "")}
                          for name, prop in schema.get("properties", {}).items()]
                body = "form"
            elif "application/json" in content:
                body = "json"
            elif "multipart/form-data" in content:
                body = "file"
            inputs = params if len(params) <= MAX_INPUTS else [
                p for p in params if p.get("required") or p["name"] in USUAL_PARAMS]
            operations.append(ApiOperation(
                name=(op.get("tags") or [path.strip("/").split("/")[-1]])[0],
                method=method.upper(), path=path, summary=op.get("summary", ""),
                description=op.get("description", ""),
                permission_needed=op.get("security") == [{"AuthToken": []}],
                params=params, inputs=inputs, more_params=len(inputs) < len(params),
                body=body, responses={code: r.get("description", "")
                                      for code, r in op.get("responses", {}).items()}))
    return sorted(operations, key=lambda o: (o.name.lower(), o.method))


def _integrity(path: Path) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()


class ApiReferencePage(Page):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.operations = api_operations(ctx.openapi)
        self.integrity = _integrity(STATIC / API_SCRIPT)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.read(req, NoParams)
        nonce = secrets.token_urlsafe(18)
        resp.context.script_nonce = nonce  # the page's CSP allows this one script
        self.render(req, resp, "documentation/api.html", operations=self.operations,
                    script=f"/static/{API_SCRIPT}", nonce=nonce, integrity=self.integrity,
                    token_header=TOKEN_HEADER, info=self.ctx.openapi.get("info", {}))


class SendCrashesPage(Page):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.read(req, NoParams)
        policy = self.ctx.annotations
        first = ESSENTIAL_FIELDS + RECOMMENDED_FIELDS
        annotated = [f for f in FIELDS if f.annotations]
        self.render(req, resp, "documentation/send_crashes.html",
                    collector_url=self.ctx.settings.webapp_collector_url,
                    recommended=[f for name in first for f in annotated if f.name == name],
                    others=sorted((f for f in annotated if f.name not in first),
                                  key=lambda f: f.annotations[0].lower()),
                    essential=ESSENTIAL_FIELDS, policy=policy,
                    crashpad=CRASHPAD_ANNOTATIONS,
                    upload_symbols=UPLOAD_SYMBOLS_PATH in self.ctx.openapi.get("paths", {}),
                    site_url=req.forwarded_prefix)
