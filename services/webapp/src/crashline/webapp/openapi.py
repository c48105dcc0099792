"""The OpenAPI document of the API, generated from the same pydantic models that validate
the requests (``/api/openapi.json``)."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import metadata

from pydantic import BaseModel

from crashline.webapp.api.base import Operation, Resource
from crashline.webapp.auth.middleware import TOKEN_HEADER

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {
            "type": "array", "items": {"type": "string"}}},
    },
    "required": ["error"],
}


def _clean(schema: dict) -> dict:
    """A query-parameter schema: no ``null`` alternative (absent means default), no titles."""
    schema = {k: v for k, v in schema.items() if k != "title"}
    variants = schema.pop("anyOf", None)
    if variants:
        real = [v for v in variants if v.get("type") != "null"]
        if len(real) == 1:
            schema = {**{k: v for k, v in real[0].items() if k != "title"}, **schema}
        else:
            schema["anyOf"] = real
    if schema.get("default") is None:
        schema.pop("default", None)
    if "items" in schema:
        schema["items"] = _clean(schema["items"])
    return schema


def query_parameters(model: type[BaseModel]) -> list[dict]:
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema.get("properties", {}).items():
        clean = _clean(prop)
        param = {"name": name, "in": "query", "required": name in required,
                 "schema": {k: v for k, v in clean.items() if k != "description"}}
        if prop.get("description"):
            param["description"] = prop["description"]
        if clean.get("type") == "array":
            param.update(style="form", explode=True)
        params.append(param)
    return params


def _operation(resource: Resource, op: Operation) -> dict:
    doc: dict = {"operationId": f"{resource.name}_{op.method.lower()}", "summary": op.summary,
                 "tags": [resource.name]}
    if op.description:
        doc["description"] = op.description
    if op.params is not None:
        params = query_parameters(op.params)
        if op.method == "POST":
            props = {p["name"]: p["schema"] for p in params}
            doc["requestBody"] = {"required": False, "content": {
                "application/x-www-form-urlencoded": {"schema": {
                    "type": "object", "properties": props,
                    "required": [p["name"] for p in params if p["required"]]}}}}
        else:
            doc["parameters"] = params
    if op.file_upload:
        binary = {"schema": {"type": "string", "format": "binary"}}
        doc["requestBody"] = {"required": True, "content": {
            "application/zip": binary, "text/plain": binary,
            "application/octet-stream": binary,
            "multipart/form-data": {"schema": {"type": "object", "additionalProperties": {
                "type": "string", "format": "binary"}}}}}
    if op.json_body is not None:
        doc["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": op.json_body.model_json_schema(by_alias=True)}}}
    responses: dict = {}
    for code, text in sorted(op.responses.items()):
        content = {"application/json": {"schema": {"type": "object"} if code < 400
                                        else ERROR_SCHEMA}}
        if code == 200 and op.binary:
            content["application/octet-stream"] = {"schema": {"type": "string",
                                                              "format": "binary"}}
        responses[str(code)] = {"description": text, "content": content}
    responses.setdefault("400", {"description": "a parameter is unknown or has a bad value",
                                 "content": {"application/json": {"schema": ERROR_SCHEMA}}})
    responses["default"] = {"description": "an error (403, 404, 405, 429, 503...)",
                            "content": {"application/json": {"schema": ERROR_SCHEMA}}}
    doc["responses"] = responses
    if op.permission:
        doc["security"] = [{"AuthToken": []}]
        doc["description"] = (doc.get("description", "") +
                              f" Needs the {op.permission} permission.").strip()
    else:
        doc["security"] = [{}, {"AuthToken": []}]
    return doc


def openapi_document(resources: Iterable[Resource], server_url: str = "/") -> dict:
    paths: dict = {}
    for resource in resources:
        item = paths.setdefault(f"/api/{resource.name}/", {})
        for op in resource.operations:
            item[op.method.lower()] = _operation(resource, op)
    try:
        version = metadata.version("crashline-webapp")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {
        "openapi": "3.1.0",
        "info": {"title": "Crashline API", "version": version, "description": (
            "Search and read crash reports. Anonymous callers see public data; an API token "
            f"(header {TOKEN_HEADER}) carries permissions such as view_pii. Add ?pretty=print "
            "to indent any answer.")},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {"securitySchemes": {"AuthToken": {
            "type": "apiKey", "in": "header", "name": TOKEN_HEADER}}},
    }


class OpenAPIResource:
    def __init__(self, resources: Iterable[Resource]):
        self.document = openapi_document(resources)

    def on_get(self, req, resp) -> None:
        resp.media = self.document
