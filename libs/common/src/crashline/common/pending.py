"""Crashes stored but not yet queued.

When RabbitMQ keeps refusing a crash the collector has already stored, the collector answers
the client anyway and records the id under ``v1/pending_publish/<id>``. Republishing them is
this module's job: ``crashline pending`` by hand today, a periodic job later. A record is
deleted only after its publish was confirmed, so a crash is queued at least once.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass

from crashline.common.queue import QueueError, RabbitMQ, queue_from_settings
from crashline.common.storage import CrashStorage, StorageError, storage_from_settings

log = logging.getLogger(__name__)


@dataclass
class RepublishReport:
    published: int = 0
    failed: int = 0


def republish_pending(storage: CrashStorage, queue: RabbitMQ, limit: int | None = None
                      ) -> RepublishReport:
    report = RepublishReport()
    for crash_id, record in storage.list_pending_publish():
        if limit is not None and report.published + report.failed >= limit:
            break
        target = record.get("queue") or queue.names.standard
        try:
            queue.publish(target, crash_id)
        except QueueError as exc:
            report.failed += 1
            log.warning("%s: still cannot publish to %s: %s", crash_id, target, exc)
            continue
        storage.delete_pending_publish(crash_id)
        report.published += 1
    return report


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="crashline pending",
        description="List or queue the crashes the collector stored but could not queue.")
    parser.add_argument("action", choices=["list", "publish"])
    parser.add_argument("--limit", type=int, default=None, help="publish at most N")
    args = parser.parse_args(argv)
    storage = storage_from_settings()
    try:
        if args.action == "list":
            for crash_id, record in storage.list_pending_publish():
                print(f"{crash_id}\t{record.get('queue', '')}\t{record.get('time', '')}\t"
                      f"{record.get('reason', '')}")
            return 0
        queue = queue_from_settings()
        report = republish_pending(storage, queue, args.limit)
    except (StorageError, QueueError) as exc:
        print(f"crashline pending: {exc}", file=sys.stderr)
        return 2
    print(f"published {report.published}, still pending {report.failed}")
    return 1 if report.failed else 0
