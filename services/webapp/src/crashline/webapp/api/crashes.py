"""Crash endpoints: ProcessedCrash, RawCrash, Reprocessing, CrashVerify."""

from __future__ import annotations

from typing import Annotated, Literal

import falcon
from pydantic import BaseModel, ConfigDict, Field

from crashline.common.crashid import (
    InvalidCrashId,
    date_from_crash_id,
    strip_breakpad_prefix,
    validate_crash_id,
)
from crashline.common.storage import CrashNotFound
from crashline.common.storage.keys import MAIN_DUMP
from crashline.webapp.api.base import Operation, Resource
from crashline.webapp.auth.principal import REPROCESS_CRASHES, VIEW_RAWDUMP
from crashline.webapp.crashes import CrashesMissing, CrashPending, CrashService
from crashline.webapp.errors import APIError, bad_param, not_found
from crashline.webapp.services import Services

RULESETS = ("default", "regenerate_signature")
NO_STORE = ["private", "no-store"]
CrashId = Annotated[str, Field(min_length=1, max_length=100, description=(
    "A crash id (8-4-4-4-12 lowercase hex ending in the submission date YYMMDD); a bp- "
    "prefix is accepted."))]


def crash_id_param(value: str, param: str = "crash_id") -> str:
    try:
        return validate_crash_id(strip_breakpad_prefix(value))
    except InvalidCrashId as exc:
        raise bad_param(param, str(exc)) from None


class CrashIdParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    crash_id: CrashId


class ProcessedCrashParams(CrashIdParams):
    format: Literal["meta"] = Field("meta", description=(
        "Accepted for the reference's clients, which send it; meta is the only format"))


class RawCrashParams(CrashIdParams):
    format: Literal["meta", "raw"] = Field("meta", description=(
        "meta: the annotations as JSON; raw: download a dump (needs view_rawdump)"))
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,100}$", description=(
        f"Dump to download with format=raw (default {MAIN_DUMP})."))


class ReprocessingParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    crash_ids: list[Annotated[str, Field(max_length=200)]] = Field(
        min_length=1, max_length=1000, description=(
            "Crash ids to reprocess, each optionally followed by :<ruleset> "
            f"({', '.join(RULESETS)})."))


class ProcessedCrashResource(Resource):
    name = "ProcessedCrash"
    operations = (Operation(
        "GET", "A processed crash", params=ProcessedCrashParams,
        responses={200: "the processed crash (public keys only without view_pii)",
                   400: "not a crash id",
                   404: "unknown crash; or not processed yet (then it is queued for "
                        "priority processing and the answer says pending: true)"}),)

    def __init__(self, crashes: CrashService):
        self.crashes = crashes

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = self.read_params(req, ProcessedCrashParams)
        crash_id = crash_id_param(params.crash_id)
        resp.cache_control = NO_STORE
        try:
            resp.media = self.crashes.processed(crash_id, self.principal(req))
        except CrashPending:
            raise APIError(falcon.HTTP_404, f"Crash {crash_id} is not processed yet; it is "
                                            "queued for processing, try again shortly",
                           headers={"Retry-After": "5"}, pending=True) from None
        except CrashNotFound:
            raise not_found(f"Crash {crash_id} not found") from None


def attachment_name(crash_id: str, name: str) -> str:
    if name == MAIN_DUMP:
        return f"{crash_id}.dmp"
    if name == "memory_report":
        return f"{crash_id}-memory_report.json.gz"
    return f"{crash_id}-{name}.dmp"


class RawCrashResource(Resource):
    name = "RawCrash"
    operations = (Operation(
        "GET", "A raw crash: its annotations, or one of its dumps", params=RawCrashParams,
        binary=True,
        responses={200: "annotations (public ones only without view_pii), or the dump file",
                   400: "bad parameter", 403: "format=raw without view_rawdump",
                   404: "unknown crash or dump"}),)

    def __init__(self, services: Services, crashes: CrashService):
        self.services = services
        self.crashes = crashes

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = self.read_params(req, RawCrashParams)
        crash_id = crash_id_param(params.crash_id)
        storage = self.services.storage
        resp.cache_control = NO_STORE
        if params.format == "raw":
            self.require(req, VIEW_RAWDUMP)
            name = params.name or MAIN_DUMP
            if not storage.has_raw_crash(crash_id):
                raise not_found(f"Crash {crash_id} not found")
            names = storage.get_dump_names(crash_id)
            if name not in names:
                raise not_found(f"Crash {crash_id} has no dump named {name!r}"
                                + (f"; it has {', '.join(names)}" if names else ""))
            try:
                data = storage.get_dump(crash_id, name)
            except CrashNotFound:
                raise not_found(f"Dump {name!r} of crash {crash_id} is missing") from None
            resp.content_type = "application/octet-stream" if name != "memory_report" \
                else "application/gzip"
            resp.downloadable_as = attachment_name(crash_id, name)
            resp.data = data
            return
        try:
            resp.media = self.crashes.raw(crash_id, self.principal(req))
        except CrashNotFound:
            raise not_found(f"Crash {crash_id} not found") from None


class ReprocessingResource(Resource):
    name = "Reprocessing"
    operations = (Operation(
        "POST", "Send crashes back to the processor", params=ReprocessingParams,
        permission=REPROCESS_CRASHES,
        responses={200: "{result: true, queued: [...]}", 400: "bad crash id or ruleset",
                   403: "the caller lacks reprocess_crashes", 404: "a crash is not stored"},
        description="Parameters in the query string or a form body."),)

    def __init__(self, crashes: CrashService):
        self.crashes = crashes

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.require(req, REPROCESS_CRASHES)
        params = self.read_params(req, ReprocessingParams, with_body=True)
        bodies: list[str] = []
        for raw in params.crash_ids:
            value, _, ruleset = raw.partition(":")
            crash_id = crash_id_param(value, "crash_ids")
            if ruleset and ruleset not in RULESETS:
                raise bad_param("crash_ids", f"unknown ruleset {ruleset!r} in {raw!r}; "
                                             f"known: {', '.join(RULESETS)}")
            bodies.append(f"{crash_id}:{ruleset}" if ruleset else crash_id)
        try:
            queued = self.crashes.reprocess(bodies)
        except CrashesMissing as exc:
            raise not_found(str(exc)) from None
        resp.media = {"result": True, "queued": queued}


class CrashVerifyResource(Resource):
    name = "CrashVerify"
    operations = (Operation(
        "GET", "Where a crash is stored", params=CrashIdParams,
        responses={200: "{uuid, raw_crash, processed_crash, elasticsearch_crash}"}),)

    def __init__(self, services: Services):
        self.services = services

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        crash_id = crash_id_param(self.read_params(req, CrashIdParams).crash_id)
        storage = self.services.storage
        search = self.services.search
        index = search.namer.for_date(date_from_crash_id(crash_id))
        in_search = search.get_document(index, crash_id) is not None
        resp.cache_control = NO_STORE
        resp.media = {
            "uuid": crash_id,
            "raw_crash": storage.has_raw_crash(crash_id),
            "processed_crash": storage.has_processed_crash(crash_id),
            "elasticsearch_crash": in_search,
        }
