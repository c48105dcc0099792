"""Signature endpoints: CrashSignature, SignatureFirstDate, Bugs, SignaturesByBugs."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import falcon
from pydantic import BaseModel, ConfigDict, Field

from crashline.common.signature import generate_signature
from crashline.webapp.api.base import Operation, Resource
from crashline.webapp.catalog import Catalog
from crashline.webapp.services import Services

log = logging.getLogger(__name__)

Signature = Annotated[str, Field(max_length=10_000, pattern=r"^[^\x00]*$")]
BugId = Annotated[str, Field(pattern=r"^[0-9]{1,18}$", description="A bug number")]


class SignaturesParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signatures: list[Signature] = Field(min_length=1, max_length=1000,
                                        description="Signatures, exactly as shown")


class BugIdsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bug_ids: list[BugId] = Field(min_length=1, max_length=1000, description="Bug numbers")


class SignatureFirstDateResource(Resource):
    name = "SignatureFirstDate"
    operations = (Operation(
        "GET", "When signatures were first seen", params=SignaturesParams,
        responses={200: "{hits: [{signature, first_date, first_build}], total}"}),)

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = self.read_params(req, SignaturesParams)
        rows = self.catalog.signature_first_dates(params.signatures)
        hits = [{"signature": r["signature"], "first_date": r["first_date"].isoformat(),
                 "first_build": None if r["first_build"] is None else str(r["first_build"])}
                for r in rows]
        resp.media = {"hits": hits, "total": len(hits)}


class BugsResource(Resource):
    name = "Bugs"
    operations = tuple(Operation(
        method, "Bugs of signatures, with the other signatures on those bugs",
        params=SignaturesParams, responses={200: "{hits: [{id, signature}], total}"})
        for method in ("GET", "POST"))

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def on_get(self, req: falcon.Request, resp: falcon.Response, with_body: bool = False):
        params = self.read_params(req, SignaturesParams, with_body=with_body)
        rows = self.catalog.bugs_of_signatures(params.signatures)
        hits = [{"id": r["bug_id"], "signature": r["signature"]} for r in rows]
        resp.media = {"hits": hits, "total": len(hits)}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.on_get(req, resp, with_body=True)


class SignaturesByBugsResource(Resource):
    name = "SignaturesByBugs"
    operations = (Operation("GET", "Signatures associated with bugs", params=BugIdsParams,
                            responses={200: "{hits: [{id, signature}], total}",
                                       400: "a bug id is not a number"}),)

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = self.read_params(req, BugIdsParams)
        rows = self.catalog.signatures_of_bugs(sorted({int(b) for b in params.bug_ids}))
        hits = [{"id": r["bug_id"], "signature": r["signature"]} for r in rows]
        resp.media = {"hits": hits, "total": len(hits)}


class CrashSignatureBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    jobs: list[dict[str, Any]] = Field(min_length=1, max_length=100, description=(
        "Crash data, one object per crash: os, crashing_thread, threads (frames with "
        "function, module, file, line, offset...), reason, java_stack_trace, and the "
        "annotations signature rules look at."))


class CrashSignatureResource(Resource):
    name = "CrashSignature"
    operations = (Operation(
        "POST", "Signatures of crash data", json_body=CrashSignatureBody,
        responses={200: "{results: [{signature, notes, extra}]}", 400: "no jobs or bad JSON"}),)

    def __init__(self, services: Services):
        self.max_jobs = services.settings.webapp_max_signature_jobs

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = self.read_json(req, CrashSignatureBody)
        if len(body.jobs) > self.max_jobs:
            from crashline.webapp.errors import bad_param

            raise bad_param("jobs", f"at most {self.max_jobs} jobs per request")
        results = []
        for job in body.jobs:
            result = generate_signature(job)
            results.append({"signature": result.signature, "notes": list(result.notes),
                            "extra": dict(result.extra)})
        resp.media = {"results": results}
