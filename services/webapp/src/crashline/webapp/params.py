"""Request parameters: one pydantic model per endpoint both validates requests and describes
them in the OpenAPI document, so the two cannot disagree. The API resources and Super Search
(whose model is built from the field registry) validate through :func:`validate` here.

Query strings are multi-valued (``?signature=a&signature=b``); a model field typed as a list
takes every value, any other field exactly one.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping

import falcon
from pydantic import BaseModel, ConfigDict, ValidationError

from crashline.webapp.errors import ParamError

# Parameters any endpoint accepts on top of its own.
GLOBAL_PARAMS = frozenset({"pretty"})


class NoParams(BaseModel):
    """What an endpoint or page without parameters of its own accepts."""
    model_config = ConfigDict(extra="forbid")


def _is_list(annotation: object) -> bool:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _is_list(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation) if arg is not type(None))
    return origin is list


def field_aliases(model: type[BaseModel]) -> dict[str, tuple[str, bool]]:
    """alias -> (python name, takes a list)."""
    cached = model.__dict__.get("__crashline_aliases__")
    if cached is None:
        cached = {(info.alias or name): (name, _is_list(info.annotation))
                  for name, info in model.model_fields.items()}
        model.__crashline_aliases__ = cached
    return cached


def query_params(req: falcon.Request) -> dict[str, list[str]]:
    """The query string, plus a form-encoded body, as name -> list of values."""
    params: dict[str, list[str]] = {}
    for name, value in req.params.items():
        params.setdefault(name, []).extend(value if isinstance(value, list) else [value])
    return params


def validate(model: type[BaseModel], params: Mapping[str, list[str]],
             extra: Callable[[str], bool] | None = None) -> tuple[BaseModel, dict[str, list[str]]]:
    """Validate ``params`` against ``model``; names ``extra`` accepts are returned apart.

    Raises :class:`ParamError` naming the first bad parameter.
    """
    aliases = field_aliases(model)
    data: dict[str, object] = {}
    extras: dict[str, list[str]] = {}
    for name, values in params.items():
        if name in GLOBAL_PARAMS:
            continue
        if any("\x00" in value for value in values):
            # PostgreSQL and the search engine cannot hold NUL; no real value has one.
            raise ParamError(name, "values cannot contain NUL characters")
        if name not in aliases:
            if extra is not None and extra(name):
                extras[name] = list(values)
                continue
            raise ParamError(name, "unknown parameter")
        _, is_list = aliases[name]
        if is_list:
            data[name] = list(values)
        elif len(values) > 1:
            raise ParamError(name, "give this parameter once")
        else:
            data[name] = values[0]
    try:
        return model.model_validate(data), extras
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        loc = error.get("loc") or ("?",)
        raise ParamError(str(loc[0]), _message(error)) from None


def _message(error: Mapping) -> str:
    message = str(error.get("msg", "invalid value"))
    value = error.get("input")
    if isinstance(value, str) and len(value) <= 80:
        return f"{message} (got {value!r})"
    return message
