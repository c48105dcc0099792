"""What every API resource shares: its description (for routing and the OpenAPI document)
and reading its parameters through the pydantic models that also document them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import falcon
from pydantic import BaseModel

from crashline.common.jsonlimits import loads_bounded
from crashline.webapp.auth.principal import Principal
from crashline.webapp.errors import (
    APIError,
    ParamError,
    bad_param,
    bad_request,
    permission_required,
)
from crashline.webapp.params import query_params, validate

MAX_BODY_BYTES = 20 * 1024 * 1024
# Deeper than any crash data the API takes (a frame's inlines sit about 8 levels down).
MAX_JSON_DEPTH = 64
# Values in one JSON body: 100 crashes of 5,000 each (a body of 20 MiB of empty lists
# would otherwise be 7 million objects).
MAX_JSON_ITEMS = 500_000


@dataclass(frozen=True)
class Operation:
    method: str                                   # "GET" or "POST"
    summary: str
    params: type[BaseModel] | None = None         # query string (and form body for POST)
    json_body: type[BaseModel] | None = None      # a JSON request body
    permission: str | None = None
    responses: dict[int, str] = field(default_factory=dict)
    binary: bool = False                          # may answer with a file
    file_upload: bool = False                     # takes files as its body
    description: str = ""


class Resource:
    name: str = ""
    operations: tuple[Operation, ...] = ()

    @staticmethod
    def principal(req: falcon.Request) -> Principal:
        return req.context.principal

    def require(self, req: falcon.Request, permission: str) -> None:
        if not self.principal(req).has(permission):
            raise permission_required(permission)

    @staticmethod
    def read_params(req: falcon.Request, model: type[BaseModel],
                    extra: Callable[[str], bool] | None = None,
                    with_body: bool = False) -> BaseModel:
        params = query_params(req)
        if with_body:
            for name, values in body_params(req).items():
                params.setdefault(name, []).extend(values)
        try:
            return validate(model, params, extra)[0]
        except ParamError as exc:
            raise bad_param(exc.param, exc.message) from None

    @staticmethod
    def read_json(req: falcon.Request, model: type[BaseModel]) -> BaseModel:
        from pydantic import ValidationError

        media = json_body(req)
        try:
            return model.model_validate(media)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in error.get("loc", ())) or "body"
            raise bad_param(where, str(error.get("msg", "invalid value"))) from None


def read_body(req: falcon.Request) -> bytes:
    """The request body, at most ``MAX_BODY_BYTES``: the bound holds for chunked bodies too,
    which carry no Content-Length to check up front."""
    body = getattr(req.context, "body", None)
    if body is not None:
        return body
    too_large = APIError(falcon.HTTP_413, f"Request body larger than {MAX_BODY_BYTES} bytes",
                         headers={"Connection": "close"})  # do not drain the rest
    if req.content_length is not None and req.content_length > MAX_BODY_BYTES:
        raise too_large
    body = body_stream(req).read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise too_large
    req.context.body = body
    return body


def body_stream(req: falcon.Request):
    """The request body as a stream. Falcon bounds its own stream by Content-Length (none:
    nothing); the server's stream decodes a chunked body and ends with it."""
    chunked = "chunked" in (req.get_header("Transfer-Encoding") or "").lower()
    return req.stream if chunked and req.content_length is None else req.bounded_stream


class BodyTooLarge(Exception):
    pass


class BoundedReader:
    """Reads a request body and raises :class:`BodyTooLarge` past ``limit`` bytes: the bound
    of a body too big for memory (spooled to disk), chunked bodies included."""

    def __init__(self, stream, limit: int):
        self.stream = stream
        self.limit = limit
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        room = self.limit + 1 - self.read_bytes
        data = self.stream.read(room if size is None or size < 0 else min(size, room))
        self.read_bytes += len(data)
        if self.read_bytes > self.limit:
            raise BodyTooLarge(f"Request body larger than {self.limit} bytes")
        return data


def json_body(req: falcon.Request) -> object:
    if not (req.content_type or "").startswith(falcon.MEDIA_JSON):
        raise APIError(falcon.HTTP_415, "Send the body as application/json")
    body = read_body(req)
    if not body.strip():
        raise bad_request("the request body is empty")
    try:
        return loads_bounded(body, MAX_JSON_DEPTH, MAX_JSON_ITEMS)
    except ValueError as exc:
        raise bad_request(f"the request body is not valid JSON: {exc}") from None


def body_params(req: falcon.Request) -> dict[str, list[str]]:
    """Parameters of a form-encoded (or JSON object) POST body, as name -> values."""
    content_type = req.content_type or ""
    if not read_body(req):
        return {}
    if content_type.startswith(falcon.MEDIA_URLENCODED):
        try:
            media = falcon.uri.parse_query_string(read_body(req).decode(),
                                                  keep_blank=True, csv=False)
        except UnicodeDecodeError:
            raise bad_request("the form body is not UTF-8") from None
    elif content_type.startswith(falcon.MEDIA_JSON):
        media = json_body(req)
        if not isinstance(media, dict):
            raise bad_request("the JSON body must be an object")
    else:
        raise APIError(falcon.HTTP_415, "Send the parameters in the query string, as a form "
                                        "(application/x-www-form-urlencoded) or as JSON")
    params: dict[str, list[str]] = {}
    for name, value in (media or {}).items():
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in values):
            raise bad_param(str(name), "values must be strings")
        params[str(name)] = [str(v) for v in values]
    return params
