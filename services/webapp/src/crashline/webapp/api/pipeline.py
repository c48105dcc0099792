"""What the crontabber found about the pipeline: MissingProcessedCrash (crashes stored but
found unprocessed or unindexed by verify-processed), Ledger (per hour, crashes received,
stored, processed and indexed) and LedgerCrashes (the crash ids behind a difference)."""

from __future__ import annotations

import datetime as dt
from typing import Literal
from urllib.parse import urlencode

import falcon
from pydantic import BaseModel, ConfigDict, Field

from crashline.common.ledger import KINDS
from crashline.webapp.api.base import Operation, Resource
from crashline.webapp.errors import bad_param
from crashline.webapp.pipeline_records import PipelineRecords

MISSING_PAGE = 1000  # the reference's page size
LEDGER_PAGE = 1000
IDS_PER_DIFFERENCE = 100  # crash ids shown with each hour; LedgerCrashes pages the rest
MAX_LEDGER_SPAN = dt.timedelta(days=31)
Kind = Literal[tuple(KINDS)]  # type: ignore[valid-type]


EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def _utc(param: str, value: dt.datetime) -> dt.datetime:
    """A time parameter in UTC (UTC if it names no zone), within this century."""
    value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    try:
        value = value.astimezone(dt.UTC)
    except OverflowError:  # year 1 or 9999 shifted by its zone
        value = None
    if value is None or not EARLIEST <= value < LATEST:
        raise bad_param(param, f"must be between {EARLIEST.year} and {LATEST.year}")
    return value


def _url(req: falcon.Request, endpoint: str, params: dict) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{req.prefix}/api/{endpoint}/?{query}"


def _pages(req: falcon.Request, endpoint: str, page: int, size: int, count: int,
           params: dict) -> dict:
    """``next`` and ``previous`` page URLs (None at either end)."""
    return {"next": _url(req, endpoint, {**params, "page": page + 1})
            if page * size < count else None,
            "previous": _url(req, endpoint, {**params, "page": page - 1}) if page > 1 else None}


# -- MissingProcessedCrash ---------------------------------------------------------------------
class MissingParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    page: int = Field(1, ge=1, le=1_000_000, description=f"Page number ({MISSING_PAGE} a page)")
    is_processed: bool | None = Field(None, description=(
        "Only crashes found since (true) or still missing (false)"))


class MissingProcessedCrashResource(Resource):
    name = "MissingProcessedCrash"
    operations = (Operation(
        "GET", "Crashes found stored but not processed or not indexed, and queued again",
        params=MissingParams,
        responses={200: "{results: [{crash_id, is_processed, created, missing}], count, next, "
                        "previous}, newest first"}),)

    def __init__(self, records: PipelineRecords):
        self.records = records

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = self.read_params(req, MissingParams)
        total, rows = self.records.missing_crashes(params.is_processed, MISSING_PAGE,
                                                   (params.page - 1) * MISSING_PAGE)
        results = [{"crash_id": r["crash_id"], "is_processed": r["is_processed"],
                    "created": r["created"].isoformat(), "missing": list(r["missing"])}
                   for r in rows]
        echo = {"is_processed": None if params.is_processed is None
                else str(params.is_processed).lower()}
        resp.media = {"results": results, "count": total,
                      **_pages(req, self.name, params.page, MISSING_PAGE, total, echo)}


# -- Ledger ------------------------------------------------------------------------------------
class LedgerParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: dt.datetime | None = Field(None, description=(
        "First hour (ISO 8601, UTC unless a zone is given); default: 48 hours before end"))
    end: dt.datetime | None = Field(None, description="Hours before this (default: now)")
    unbalanced: bool = Field(False, description="Only the hours whose counts differ")


class LedgerResource(Resource):
    name = "Ledger"
    operations = (Operation(
        "GET", "Crashes received, stored, processed and indexed, per closed hour",
        params=LedgerParams,
        description=("Each hour's differences name their crash ids (the first "
                     f"{IDS_PER_DIFFERENCE}; `more` links to all of them). Kinds: "
                     + "; ".join(f"`{k}`: {v}" for k, v in KINDS.items()) + "."),
        responses={200: "{hours: [{hour, received, stored, deferred, processed, indexed, "
                        "balanced, counted_at, differences: {kind: {count, crash_ids, "
                        "more}}}], total, balanced}, newest first",
                   400: "a bad time, or a span over 31 days"}),)

    def __init__(self, records: PipelineRecords):
        self.records = records

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = self.read_params(req, LedgerParams)
        end = _utc("end", params.end) if params.end else dt.datetime.now(dt.UTC)
        start = (_utc("start", params.start) if params.start
                 else end - dt.timedelta(hours=48))
        if start > end:
            raise bad_param("start", "must be before end")
        if end - start > MAX_LEDGER_SPAN:
            raise bad_param("start", f"at most {MAX_LEDGER_SPAN.days} days before end")
        hours = self.records.ledger_hours(start, end, params.unbalanced)
        unbalanced = [h["hour"] for h in hours if not h["balanced"]]
        ids = self.records.difference_samples(unbalanced, IDS_PER_DIFFERENCE)
        resp.media = {"hours": [ledger_hour(h, ids, req.prefix) for h in hours],
                      "total": len(hours), "balanced": not unbalanced}


def ledger_hour(row: dict, ids: dict, prefix: str = "") -> dict:
    """One ``ledger_hours`` row with the crash ids of its differences (``ids``: (hour, kind)
    -> the first ids); ``more`` links to all of them when they are more."""
    differences = {}
    for kind in KINDS:
        count = row["differences"].get(kind, 0)
        if not count:
            continue
        shown = ids.get((row["hour"], kind), [])
        more = None
        if count > len(shown):
            more = (f"{prefix}/api/{LedgerCrashesResource.name}/?"
                    + urlencode({"hour": row["hour"].isoformat(), "kind": kind}))
        differences[kind] = {"count": count, "crash_ids": shown, "more": more}
    return {"hour": row["hour"].isoformat(), "received": row["received"],
            "stored": row["stored"], "deferred": row["deferred"],
            "processed": row["processed"], "indexed": row["indexed"],
            "balanced": row["balanced"], "counted_at": row["counted_at"].isoformat(),
            "differences": differences}


class LedgerCrashesParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hour: dt.datetime = Field(description="The hour (its start, ISO 8601)")
    kind: Kind = Field(description="The kind of difference")
    page: int = Field(1, ge=1, le=1_000_000, description=f"Page number ({LEDGER_PAGE} a page)")


class LedgerCrashesResource(Resource):
    name = "LedgerCrashes"
    operations = (Operation(
        "GET", "The crash ids behind one of an hour's ledger differences",
        params=LedgerCrashesParams,
        responses={200: "{hour, kind, crash_ids, count, next, previous}",
                   400: "a bad hour or an unknown kind"}),)

    def __init__(self, records: PipelineRecords):
        self.records = records

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params = self.read_params(req, LedgerCrashesParams)
        hour = _utc("hour", params.hour)
        if (hour.minute, hour.second, hour.microsecond) != (0, 0, 0):
            raise bad_param("hour", "must be the start of an hour")
        total, crash_ids = self.records.difference_crashes(
            hour, params.kind, LEDGER_PAGE, (params.page - 1) * LEDGER_PAGE)
        resp.media = {"hour": hour.isoformat(), "kind": params.kind, "crash_ids": crash_ids,
                      "count": total,
                      **_pages(req, self.name, params.page, LEDGER_PAGE, total,
                               {"hour": hour.isoformat(), "kind": params.kind})}
