"""Symbols in the webapp: taking uploads into the symbol store, serving the store to stack
walkers (``/symbols/<debug_file>/<debug_id>/<name>.sym``), and the missing-symbols report,
for the API and the pages alike."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from pathlib import Path

import falcon

from crashline.common.search import SearchError
from crashline.common.storage import CrashNotFound
from crashline.common.symbols import Limits, Member, SymbolError, SymbolId, parse_path, read_upload
from crashline.common.symbols.reprocess import FIELD, SymbolReprocessing
from crashline.common.symbols.store import STORED, SymbolStore
from crashline.webapp.auth.principal import Principal
from crashline.webapp.errors import not_found, unavailable
from crashline.webapp.services import Lazy, Services
from crashline.webapp.settings import WebappSettings
from crashline.webapp.supersearch.service import IndexCache

log = logging.getLogger(__name__)

# The missing-symbols report: products per symbol file, versions per product.
REPORT_PRODUCTS = 10
REPORT_VERSIONS = 10


class SymbolService:
    def __init__(self, services: Services, settings: WebappSettings, indices: IndexCache):
        self.services = services
        self.settings = settings
        self.indices = indices
        self.limits = Limits(settings.symbols_upload_max_files,
                             settings.symbols_upload_max_inflated_bytes,
                             settings.symbols_upload_max_ratio)
        self._store = Lazy(lambda: SymbolStore(services.storage.store, services.db))
        self._reprocessing = Lazy(lambda: SymbolReprocessing(
            services.db, services.search, services.publisher, services.queues,
            days=settings.symbols_reprocess_days,
            max_queued=settings.symbols_reprocess_max_queued))

    @property
    def store(self) -> SymbolStore:
        return self._store.get()

    # -- uploads --------------------------------------------------------------------------
    def check(self, files: Sequence[tuple[str, Path]], scratch: Path) -> list[Member]:
        """The symbol files of an upload's files (archives or ``.sym`` files), checked against
        the bounds of the whole upload; :class:`SymbolError` saying what is wrong."""
        members: list[Member] = []
        seen: dict[SymbolId, str] = {}
        for n, (name, path) in enumerate(files):
            folder = scratch / f"unpacked-{n}"
            folder.mkdir()
            limits = Limits(self.limits.max_files - len(members),
                            self.limits.max_inflated_bytes - sum(m.size for m in members),
                            self.limits.max_ratio)
            if limits.max_files <= 0:
                raise SymbolError(f"the upload has more than {self.limits.max_files} files")
            for member in read_upload(path, folder, limits, name):
                if member.symbol in seen:
                    raise SymbolError(f"{member.symbol.path} is uploaded twice (in "
                                      f"{seen[member.symbol]} and in {name})")
                seen[member.symbol] = name
                members.append(member)
        return members

    def upload(self, files: Sequence[tuple[str, Path]], scratch: Path,
               principal: Principal) -> dict:
        """Check, store and catalog an upload, then look for the crashes that missed the new
        files and queue them for reprocessing (what cannot be done now, the crontabber's
        ``reprocess-symbols`` job does within a minute)."""
        members = self.check(files, scratch)
        saved = self.store.save(members, principal.username)
        arrived = [f.symbol.module for f in saved if f.status == STORED]
        return {
            "files": [{"path": f.symbol.path, "size": f.size, "status": f.status}
                      for f in saved],
            "stored": len(arrived),
            "unchanged": len(saved) - len(arrived),
            "reprocessing": self._reprocess(arrived),
        }

    def _reprocess(self, modules: list[str]) -> dict:
        if not modules:
            return {"found": 0, "queued": 0, "waiting": 0}
        reprocessing = self._reprocessing.get()
        try:
            found = reprocessing.scan(modules)
            report = reprocessing.drain()
        except Exception as exc:  # the search engine, PostgreSQL or the broker: the job retries
            log.warning("reprocessing after a symbol upload failed (the reprocess-symbols job "
                        "will do it): %s", exc)
            return {"error": "the crashes that missed these symbols will be queued by the "
                             "reprocess-symbols job"}
        return {"found": found, "queued": report.queued, "waiting": report.waiting,
                **({"paused": report.paused} if report.paused else {})}

    # -- the missing-symbols report -------------------------------------------------------
    def missing(self, days: int, products: Sequence[str], limit: int,
                now: dt.datetime | None = None) -> dict:
        """Per symbol file: how many crashes of the last ``days`` days missed it, from which
        products and versions, and whether the store has it by now; most crashes first."""
        now = now or dt.datetime.now(dt.UTC)
        start = now - dt.timedelta(days=days)
        search = self.services.search
        wanted = search.namer.for_range(start, now)
        try:
            existing = self.indices.existing(wanted)
            indices = [name for name in wanted if name in existing]
            filters: list[dict] = [{"range": {"date": {"gte": start.isoformat()}}},
                                   {"exists": {"field": FIELD}}]
            if products:
                filters.append({"terms": {"product": list(products)}})
            result = search.search(indices, {
                "size": 0, "track_total_hits": True,
                "query": {"bool": {"filter": filters}},
                "aggs": {
                    "files": {"terms": {"field": FIELD, "size": limit}, "aggs": {
                        "products": {"terms": {"field": "product", "size": REPORT_PRODUCTS},
                                     "aggs": {"versions": {"terms": {
                                         "field": "version", "size": REPORT_VERSIONS}}}}}},
                    "distinct": {"cardinality": {"field": FIELD}},
                }})
        except SearchError as exc:
            log.warning("missing-symbols report failed: %s", exc)
            raise unavailable("The search engine") from None
        aggregations = result.get("aggregations") or {}
        buckets = (aggregations.get("files") or {}).get("buckets") or []
        uploaded = self.store.uploaded(b["key"] for b in buckets)
        rows = []
        for bucket in buckets:
            module = bucket["key"]
            debug_file, _, debug_id = module.rpartition("/")
            rows.append({
                "debug_file": debug_file, "debug_id": debug_id, "crashes": bucket["doc_count"],
                "uploaded_at": uploaded.get(module),
                "products": [{"product": p["key"], "crashes": p["doc_count"],
                              "versions": [{"version": v["key"], "crashes": v["doc_count"]}
                                           for v in p["versions"]["buckets"]]}
                             for p in bucket["products"]["buckets"]],
            })
        total = (result.get("hits") or {}).get("total") or {}
        return {"days": days, "start": start.isoformat(), "end": now.isoformat(),
                "crashes": total.get("value", 0) if isinstance(total, dict) else total,
                "symbol_files": (aggregations.get("distinct") or {}).get("value", 0),
                "hits": rows}


class SymbolServerResource:
    """``GET /symbols/<debug_file>/<debug_id>/<name>.sym``: the symbol store as a symbol
    server in the layout stack walkers ask for (the query string they add is ignored)."""

    def __init__(self, symbols: SymbolService):
        self.symbols = symbols

    def _open(self, debug_file: str, debug_id: str, file_name: str):
        try:
            symbol = parse_path(f"{debug_file}/{debug_id}/{file_name}")
        except SymbolError as exc:
            raise not_found(f"No symbol file here: {exc}") from None
        try:
            return self.symbols.store.open(symbol)
        except CrashNotFound:
            raise not_found(f"No symbol file {symbol.path}") from None

    def on_get(self, req: falcon.Request, resp: falcon.Response, debug_file: str,
               debug_id: str, file_name: str) -> None:
        stream, size = self._open(debug_file, debug_id, file_name)
        resp.content_type = "text/plain; charset=utf-8"
        resp.set_stream(stream, size)

    def on_head(self, req: falcon.Request, resp: falcon.Response, debug_file: str,
                debug_id: str, file_name: str) -> None:
        stream, size = self._open(debug_file, debug_id, file_name)
        stream.close()
        resp.content_type = "text/plain; charset=utf-8"
        resp.content_length = size
