"""JSON errors: every failure the API reports is ``{"error": "..."}`` (plus ``errors``, a map
of parameter name to messages, when a parameter is to blame), never an HTML page or a 500
without a body."""

from __future__ import annotations

import logging

import falcon

log = logging.getLogger(__name__)


class APIError(falcon.HTTPError):
    def __init__(self, status: str, message: str, *, errors: dict[str, list[str]] | None = None,
                 headers: dict[str, str] | None = None, **extra: object):
        super().__init__(status, headers=headers)
        self.message = message
        self.errors = errors
        self.extra = extra

    def to_dict(self, obj_type=dict) -> dict:
        body = obj_type()
        body["error"] = self.message
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class ParamError(ValueError):
    """A request parameter is unknown or has a bad value; ``param`` names it."""

    def __init__(self, param: str, message: str):
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


def bad_request(message: str) -> APIError:
    return APIError(falcon.HTTP_400, f"Bad request: {message}")


def bad_param(param: str, message: str) -> APIError:
    return APIError(falcon.HTTP_400, f"Bad request: {param}: {message}",
                    errors={param: [message]})


def from_param_error(exc: ParamError) -> APIError:
    return bad_param(exc.param, exc.message)


def forbidden(message: str) -> APIError:
    return APIError(falcon.HTTP_403, message)


def permission_required(permission: str) -> APIError:
    return forbidden(f"Use of this endpoint requires the '{permission}' permission")


def not_found(message: str = "Not found") -> APIError:
    return APIError(falcon.HTTP_404, message)


def unavailable(what: str) -> APIError:
    return APIError(falcon.HTTP_503, f"{what} is unavailable, try again later",
                    headers={"Retry-After": "5"})


def serialize_error(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError) -> None:
    """Falcon's own errors (404 route, 405 method, ...) in our JSON shape."""
    if isinstance(exc, APIError):
        body = exc.to_dict()
    else:
        message = exc.title or "Error"
        if exc.description:
            message = f"{message}: {exc.description}"
        body = {"error": message}
    resp.media = body
    resp.content_type = falcon.MEDIA_JSON


def handle_unexpected(req: falcon.Request, resp: falcon.Response, exc: Exception,
                      params: dict) -> None:
    """The last resort: log the bug and still answer in JSON."""
    if isinstance(exc, falcon.HTTPError | falcon.HTTPStatus):
        raise exc
    log.exception("unhandled error on %s %s", req.method, req.path)
    raise APIError(falcon.HTTP_500, "Internal server error")
