"""The crash report page (``/report/index/<crash_id>``), its pending page for a crash not
processed yet, and the reprocess button's target."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import falcon

from crashline.common.crashid import InvalidCrashId, validate_crash_id
from crashline.common.fields import FIELDS, FieldDef
from crashline.common.storage import CrashNotFound
from crashline.webapp.auth.principal import REPROCESS_CRASHES, VIEW_PII, VIEW_RAWDUMP
from crashline.webapp.crashes import CrashesMissing, CrashPending
from crashline.webapp.errors import not_found, permission_required
from crashline.webapp.pages.base import Page
from crashline.webapp.pages.sources import SourceLinks
from crashline.webapp.redaction import redact_raw

CRASH_ID_HELP = ("A crash id has 36 characters: lowercase hexadecimal digits in groups of "
                 "8-4-4-4-12, the last six digits being the submission date as YYMMDD (for "
                 "example de1bb258-cbbf-4589-a673-34f800160918).")
PENDING_REFRESH_SECONDS = 5
# Shown in the header or in their own sections rather than in the details table.
NOT_IN_DETAILS = frozenset({"uuid", "signature", "proto_signature", "processor_notes",
                            "user_comments"})


@dataclass(frozen=True)
class FrameRow:
    number: object
    module: str
    label: str
    file: str
    line: object
    source_url: str | None
    trust: str
    missing_symbols: bool
    inline: bool = False


def frame_label(frame: Mapping) -> str:
    """What a frame is called: its function, else file and line, else module and offset."""
    if frame.get("function"):
        return str(frame["function"])
    if frame.get("file"):
        return f"{frame['file']}#{frame.get('line')}"
    if frame.get("module"):
        return f"{frame['module']}@{frame.get('module_offset')}"
    if frame.get("unloaded_modules"):
        unloaded = frame["unloaded_modules"]
        first = unloaded[0] if isinstance(unloaded, list) and unloaded else {}
        if isinstance(first, Mapping):
            return f"(unloaded {first.get('module')}@{(first.get('offsets') or ['?'])[0]})"
    return f"@{frame.get('offset')}"


def frame_rows(frames: object, sources: SourceLinks) -> list[FrameRow]:
    """Rows of a thread's table: each frame after its inlined functions (innermost first)."""
    rows: list[FrameRow] = []
    if not isinstance(frames, list):
        return rows
    for frame in frames:
        if not isinstance(frame, Mapping):
            continue
        number = frame.get("frame")
        module = str(frame.get("module") or "")
        trust = str(frame.get("trust") or "")
        for inline in frame.get("inlines") or []:
            if isinstance(inline, Mapping):
                rows.append(FrameRow(number, module, str(inline.get("function") or "?"),
                                     str(inline.get("file") or ""), inline.get("line"),
                                     sources.url(inline.get("file"), inline.get("line")),
                                     trust, False, inline=True))
        rows.append(FrameRow(number, module, frame_label(frame), str(frame.get("file") or ""),
                             frame.get("line"), sources.url(frame.get("file"), frame.get("line")),
                             trust, bool(frame.get("missing_symbols"))))
    return rows


def _at(doc: Mapping, path: str) -> object:
    value: object = doc
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def details(processed: Mapping, visible) -> list[tuple[FieldDef, object]]:
    """The registry's fields the crash has, in registry order."""
    rows = []
    for fdef in FIELDS:
        if fdef.name in NOT_IN_DETAILS or not visible(fdef):
            continue
        value = _at(processed, fdef.source_path)
        if value is not None and value != "" and value != []:
            rows.append((fdef, value))
    return rows


def threads(processed: Mapping) -> tuple[int | None, list[tuple[int, Mapping]]]:
    json_dump = processed.get("json_dump")
    all_threads = json_dump.get("threads") if isinstance(json_dump, Mapping) else None
    if not isinstance(all_threads, list):
        return None, []
    index = processed.get("crashing_thread")
    listed = [(i, t) for i, t in enumerate(all_threads) if isinstance(t, Mapping)]
    if not isinstance(index, int) or isinstance(index, bool) \
            or not 0 <= index < len(all_threads):
        index = None
    return index, listed


class ReportPage(Page):
    def on_get(self, req: falcon.Request, resp: falcon.Response, crash_id: str) -> None:
        if crash_id.startswith("bp-"):
            raise falcon.HTTPMovedPermanently(f"/report/index/{crash_id[3:]}")
        try:
            crash_id = validate_crash_id(crash_id)
        except InvalidCrashId as exc:
            raise not_found(f"{exc}. {CRASH_ID_HELP}") from None
        principal = self.principal(req)
        crashes = self.ctx.crashes
        try:
            processed = crashes.processed(crash_id, principal)
        except CrashPending:
            self.render(req, resp, "pending.html", crash_id=crash_id,
                        refresh=PENDING_REFRESH_SECONDS)
            return
        except CrashNotFound:
            raise not_found(f"There is no crash {crash_id}: it was never received, or it "
                            "has been deleted.") from None
        try:
            raw = crashes.raw(crash_id, principal)
        except CrashNotFound:
            raw = {}
        public_keys = set(redact_raw(raw))
        dumps = crashes.dump_names(crash_id) if principal.has(VIEW_RAWDUMP) else []
        crashing, all_threads = threads(processed)
        show_all = req.get_param("threads") == "all"
        sources = self.ctx.sources
        shown = [(i, t, frame_rows(t.get("frames"), sources)) for i, t in all_threads
                 if show_all or i == crashing]
        json_dump = processed.get("json_dump")
        json_dump = json_dump if isinstance(json_dump, Mapping) else {}

        def visible(fdef: FieldDef) -> bool:
            return fdef.public or principal.has(fdef.permission)

        self.render(
            req, resp, "report.html", crash_id=crash_id, crash=processed,
            details=details(processed, visible), crashing=crashing, threads=shown,
            thread_count=len(all_threads), show_all=show_all,
            modules=[m for m in json_dump.get("modules") or [] if isinstance(m, Mapping)],
            unloaded=[m for m in json_dump.get("unloaded_modules") or []
                      if isinstance(m, Mapping)],
            annotations=sorted((k, v) for k, v in raw.items() if k in public_keys),
            protected=sorted((k, v) for k, v in raw.items() if k not in public_keys),
            notes=str(processed.get("processor_notes") or "").splitlines(),
            dumps=dumps, can_see_pii=principal.has(VIEW_PII),
            can_reprocess=principal.has(REPROCESS_CRASHES),
            reprocessed=req.get_param("reprocessed") == "1")


class ReprocessPage(Page):
    def on_post(self, req: falcon.Request, resp: falcon.Response, crash_id: str) -> None:
        if not self.principal(req).has(REPROCESS_CRASHES):
            raise permission_required(REPROCESS_CRASHES)
        try:
            crash_id = validate_crash_id(crash_id)
            self.ctx.crashes.reprocess([crash_id])
        except (InvalidCrashId, CrashesMissing) as exc:
            raise not_found(str(exc)) from None
        raise falcon.HTTPSeeOther(f"/report/index/{crash_id}?reprocessed=1")
