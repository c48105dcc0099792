"""What every API resource shares: its description (for routing and the OpenAPI document)
and reading its parameters through the pydantic models that also document them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import falcon
from pydantic import BaseModel

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


@dataclass(frozen=True)
class Operation:
    method: str                                   # "GET" or "POST"
    summary: str
    params: type[BaseModel] | None = None         # query string (and form body for POST)
    json_body: type[BaseModel] | None = None      # a JSON request body
    permission: str | None = None
    responses: dict[int, str] = field(default_factory=dict)
    binary: bool = False                          # may answer with a file
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


def _check_size(req: falcon.Request) -> None:
    if req.content_length is not None and req.content_length > MAX_BODY_BYTES:
        raise APIError(falcon.HTTP_413, f"Request body larger than {MAX_BODY_BYTES} bytes")


def json_body(req: falcon.Request) -> object:
    _check_size(req)
    if not (req.content_type or "").startswith(falcon.MEDIA_JSON):
        raise APIError(falcon.HTTP_415, "Send the body as application/json")
    try:
        return req.get_media()
    except falcon.MediaNotFoundError:
        raise bad_request("the request body is empty") from None
    except falcon.MediaMalformedError as exc:
        raise bad_request(f"the request body is not valid JSON: {exc.description}") from None


def body_params(req: falcon.Request) -> dict[str, list[str]]:
    """Parameters of a form-encoded (or JSON object) POST body, as name -> values."""
    _check_size(req)
    if not req.content_length:
        return {}
    content_type = req.content_type or ""
    if content_type.startswith(falcon.MEDIA_URLENCODED):
        try:
            media = req.get_media()
        except falcon.MediaMalformedError as exc:
            raise bad_request(f"the form body is malformed: {exc.description}") from None
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
