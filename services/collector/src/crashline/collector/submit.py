"""``POST /submit``: the Breakpad/Crashpad crash submission endpoint.

Answers are byte-compatible with the reference collector: ``CrashID=bp-<id>\\n`` for a crash
taken (accepted, deferred or fake-accepted), ``Discarded=rule_<name>`` for a throttler
rejection (200, as clients expect), ``Discarded=malformed_<reason>`` for bad input (4xx),
``Discarded=unauthorized_uuid`` (401). When the crash cannot be taken now (storage failing
after every retry, local storage short of free disk, the worker's annotation memory spent)
the answer is 503 with ``Retry-After`` and an empty body: the client keeps the crash.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import time
from collections.abc import Callable

import falcon

from crashline.collector import metrics
from crashline.collector.deadline import Deadline, DeadlineExceeded
from crashline.collector.disk import FreeDiskGuard
from crashline.collector.extract import extract_payload
from crashline.collector.limits import Limits
from crashline.collector.malformed import Malformed
from crashline.collector.memory import Unavailable, WorkerMemory
from crashline.collector.mover import CrashMover, SaveFailed
from crashline.collector.payload import Payload, remove_banned_annotations
from crashline.collector.throttler import Decision, Result, Throttler
from crashline.common.crashid import InvalidCrashId, Throttle, create_crash_id, is_valid_crash_id
from crashline.common.logs import crash_context

log = logging.getLogger(__name__)

RAW_CRASH_VERSION = 2
_THROTTLE = {Result.ACCEPT: Throttle.ACCEPT, Result.DEFER: Throttle.DEFER,
             Result.REJECT: Throttle.REJECT, Result.FAKE_ACCEPT: Throttle.FAKE_ACCEPT}
_OUTCOME = {Result.ACCEPT: "accepted", Result.DEFER: "deferred", Result.REJECT: "rejected",
            Result.FAKE_ACCEPT: "fake_accepted"}


def is_valid_client_crash_id(value: object) -> bool:
    """The reference's strict check: a crash id (whole string, valid date) whose throttle
    digit is 0 or 1."""
    return is_valid_crash_id(value) and value[-7] in "01"


class SubmitResource:
    def __init__(
        self,
        *,
        limits: Limits,
        throttler: Throttler,
        mover: CrashMover,
        stage_submitter_token: str = "",
        body_timeout: float = 10.0,
        body_deadline: float = 120.0,
        max_drain_size: int = 50 * 1024 * 1024,
        retry_after: int = 60,
        disk_guard: FreeDiskGuard | None = None,
        collector_version: str = "unknown",
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ):
        self.limits = limits
        self.memory = WorkerMemory.from_limits(limits)  # one app per worker: shared budgets
        self.throttler = throttler
        self.mover = mover
        self.stage_submitter_token = stage_submitter_token
        self.body_timeout = body_timeout
        self.body_deadline = body_deadline
        self.max_drain_size = max_drain_size
        self.retry_after = retry_after
        self.disk_guard = disk_guard
        self.collector_version = collector_version
        self.clock = clock

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        start = time.perf_counter()
        metrics.INCOMING.inc()
        resp.content_type = "text/plain"
        try:
            self._submit(req, resp)
        finally:
            metrics.REQUEST_SECONDS.observe(time.perf_counter() - start)

    # -- steps ------------------------------------------------------------------------------
    def _submit(self, req: falcon.Request, resp: falcon.Response) -> None:
        sock = req.env.get("gunicorn.socket")
        if sock is not None:
            # A body that stops arriving must not hold this request: gunicorn resets the
            # socket to blocking for each request, so this lasts for this request only.
            sock.settimeout(self.body_timeout)
        read = self._reader(req.stream, Deadline(self.body_deadline))
        if self.disk_guard is not None and self.disk_guard.low():
            log.error("refused: less than %d bytes free under local storage",
                      self.disk_guard.min_free)
            self._busy(resp, "low_disk", read)
            return
        try:
            payload = self._extract(req, read)
        except Malformed as exc:
            self._refuse(req, resp, exc, read)
            return
        except Unavailable as exc:
            log.warning("refused for now: %s", exc)
            self._busy(resp, "memory", read)
            return
        try:
            self._handle(req, resp, payload)
        finally:
            payload.close()

    def _extract(self, req: falcon.Request, read: Callable[[int], bytes]) -> Payload:
        length_header = req.get_header("Content-Length")
        try:
            content_length = int(length_header) if length_header is not None else None
        except ValueError:
            raise Malformed("invalid_content_length", 400,
                            f"Content-Length {length_header!r}") from None
        if content_length is not None and content_length < 0:
            raise Malformed("invalid_content_length", 400, f"Content-Length {content_length}")
        chunked = "chunked" in (req.get_header("Transfer-Encoding") or "").lower()
        return extract_payload(
            read,
            content_type=req.get_header("Content-Type"),
            content_encoding=req.get_header("Content-Encoding"),
            content_length=content_length,
            chunked=chunked,
            limits=self.limits,
            memory=self.memory,
        )

    def _reader(self, stream, deadline: Deadline) -> Callable[[int], bytes]:
        """``stream.read`` within the body's deadline, the server's failures turned into
        answers."""

        def read(size: int) -> bytes:
            try:
                return deadline.call(stream.read, size)
            except DeadlineExceeded as exc:
                raise Malformed("body_timeout", 408, f"body {exc}") from None
            except TimeoutError as exc:
                raise Malformed("body_timeout", 408,
                                f"no data for {self.body_timeout}s") from exc
            except Exception as exc:  # reset connection, broken chunked encoding...
                raise Malformed("invalid_payload_structure", 400,
                                f"cannot read the body: {exc!r}") from exc

        return read

    def _refuse(self, req: falcon.Request, resp: falcon.Response, exc: Malformed,
                read: Callable[[int], bytes]) -> None:
        metrics.MALFORMED.labels(exc.reason).inc()
        log.info("refused: malformed_%s %s (user agent %r)", exc.reason, exc.detail,
                 req.user_agent)
        resp.status = exc.status
        resp.text = f"Discarded=malformed_{exc.reason}"
        if exc.status == 408:
            return  # the client stopped sending; gunicorn closes the connection
        self._drain(read)

    def _drain(self, read: Callable[[int], bytes]) -> None:
        """Read what is left of the body (bounded in size and by the body's deadline) so the
        client, still sending, gets the answer instead of a reset connection."""
        left = self.max_drain_size
        try:
            while left > 0:
                chunk = read(min(left, 1024 * 1024))
                if not chunk:
                    return
                left -= len(chunk)
        except Malformed:  # the client is gone, stalled, too slow or garbled: gunicorn closes
            return

    def _handle(self, req: falcon.Request, resp: falcon.Response, payload: Payload) -> None:
        now = self.clock()
        annotations = payload.annotations
        metrics.PAYLOAD_SIZE.labels(str(payload.compressed).lower()).observe(payload.size)
        metrics.PAYLOAD_BYTES.labels(str(payload.compressed).lower()).inc(payload.size)

        decision = self.throttler.throttle(annotations)

        # A client-chosen crash id (stage submitter): checked after throttling and before a
        # rejection is answered, as the reference does.
        crash_id = None
        if "uuid" in annotations:
            if not self._authorized(req):
                metrics.UNAUTHORIZED_UUID.inc()
                resp.status = falcon.HTTP_401
                resp.text = "Discarded=unauthorized_uuid"
                return
            if not is_valid_client_crash_id(annotations["uuid"]):
                metrics.MALFORMED.labels("invalid_uuid").inc()
                resp.status = falcon.HTTP_400
                resp.text = "Discarded=malformed_invalid_uuid"
                return
            crash_id = annotations["uuid"]
        if crash_id is None:
            crash_id = create_crash_id(now, _THROTTLE[decision.result])

        with crash_context(crash_id):
            log.info("%s: matched by %s; returned %s", crash_id, decision.rule,
                     decision.result.name)
            metrics.THROTTLE_RULE.labels(decision.rule, decision.result.value).inc()
            metrics.CRASHES.labels(_OUTCOME[decision.result]).inc()
            if decision.result is Result.REJECT:
                resp.text = f"Discarded=rule_{decision.rule}"
                return
            if decision.result is not Result.FAKE_ACCEPT:
                raw_crash = self._raw_crash(req, payload, crash_id, now, decision)
                try:
                    self.mover.save(crash_id, raw_crash,
                                    {name: dump.data for name, dump in payload.dumps.items()},
                                    received_at=now)
                except InvalidCrashId:  # checked above; a client's id must never cause a 500
                    metrics.MALFORMED.labels("invalid_uuid").inc()
                    resp.status = falcon.HTTP_400
                    resp.text = "Discarded=malformed_invalid_uuid"
                    return
                except SaveFailed:
                    self._unavailable(resp)
                    return
                if decision.result is Result.ACCEPT:
                    self.mover.publish(crash_id)
            resp.text = f"CrashID=bp-{crash_id}\n"

    def _busy(self, resp: falcon.Response, reason: str, read: Callable[[int], bytes]) -> None:
        metrics.UNAVAILABLE.labels(reason).inc()
        self._unavailable(resp)
        self._drain(read)

    def _unavailable(self, resp: falcon.Response) -> None:
        """Not taken, nothing stored: the client keeps the crash and tries again later."""
        resp.status = falcon.HTTP_503
        resp.set_header("Retry-After", str(self.retry_after))
        resp.text = ""

    def _authorized(self, req: falcon.Request) -> bool:
        token = self.stage_submitter_token
        if not token:
            return False
        scheme, _, value = (req.get_header("Authorization") or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode(), token.encode())

    def _raw_crash(self, req: falcon.Request, payload: Payload, crash_id: str,
                   now: dt.datetime, decision: Decision) -> dict:
        """The stored document: annotations as sent plus the reference's v2 metadata."""
        raw_crash = payload.annotations
        notes = payload.notes
        remove_banned_annotations(raw_crash, notes)
        submitted = now.isoformat()
        raw_crash["submitted_timestamp"] = submitted
        raw_crash["uuid"] = crash_id
        raw_crash["version"] = RAW_CRASH_VERSION
        raw_crash["metadata"] = {  # replaces anything a client sent under that name
            "submitted_timestamp": submitted,
            "payload": payload.payload_type,
            "payload_compressed": "1" if payload.compressed else "0",
            "payload_size": payload.size,
            "payload_inflated_size": payload.inflated_size,
            "collector_notes": notes,
            "dump_checksums": {name: dump.sha256 for name, dump in payload.dumps.items()},
            "dump_sizes": {name: dump.size for name, dump in payload.dumps.items()},
            "user_agent": req.user_agent or "None",
            "throttle_rule": decision.rule,
            "throttle_result": decision.result.value,
            "throttle_percentage": decision.percentage,
            "collector_version": self.collector_version,
        }
        return raw_crash
