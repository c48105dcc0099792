"""Processor commands of the ``crashline`` tool.

``crashline process <crash_id> [--ruleset NAME] [--save]``
    run the pipeline for one stored crash and print the processed crash (JSON); with
    ``--save`` also write it to storage, the search index and PostgreSQL.
``crashline failed list``
    the crashes in the failed queue, with why and when they failed.
``crashline failed requeue ID... | --all``
    send failed crashes back to the queue they came from.
"""

from __future__ import annotations

import argparse
import json
import sys

from crashline.common.crashid import strip_breakpad_prefix
from crashline.common.failed import requeue, take_failed
from crashline.common.logs import setup_logging
from crashline.common.queue import QueueError, queue_from_settings
from crashline.processor.processor import Job, Result
from crashline.processor.settings import ProcessorSettings


def process_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="crashline process",
                                     description="Process one stored crash and print it.")
    parser.add_argument("crash_id", help="crash id (bp- prefix accepted)")
    parser.add_argument("--ruleset", default="default",
                        help="rule set: default or regenerate_signature")
    parser.add_argument("--save", action="store_true",
                        help="also save the result to storage, search and PostgreSQL")
    args = parser.parse_args(argv)

    from crashline.processor.app import build_processor

    settings = ProcessorSettings()
    setup_logging("crashline-process", settings.log_level, "text")
    app = build_processor(settings, with_metrics=False)
    crash_id = strip_breakpad_prefix(args.crash_id)
    job = Job(crash_id=crash_id, ruleset=args.ruleset)
    if args.save:
        outcome = app.processor.handle(job)
        if outcome.result is not Result.SAVED:
            print(f"crashline process: {outcome.result.value}: {outcome.reason}",
                  file=sys.stderr)
            return 1
        processed = outcome.processed
    else:
        from crashline.common.storage import CrashNotFound

        try:
            processed = app.processor.process(crash_id, args.ruleset)
        except CrashNotFound:
            print(f"crashline process: no raw crash {crash_id}", file=sys.stderr)
            return 1
        except ValueError as exc:
            print(f"crashline process: {exc}", file=sys.stderr)
            return 2
    json.dump(processed, sys.stdout, indent=2, sort_keys=True)
    print()
    return 0


def failed_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="crashline failed",
                                     description="List or requeue crashes that failed.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the failed crashes")
    again = sub.add_parser("requeue", help="send failed crashes back to be processed")
    again.add_argument("crash_ids", nargs="*", help="crash ids to requeue")
    again.add_argument("--all", action="store_true", help="requeue every failed crash")
    args = parser.parse_args(argv)
    if args.command == "requeue" and not (args.all or args.crash_ids):
        parser.error("requeue needs crash ids or --all")

    settings = ProcessorSettings()
    client = queue_from_settings(settings)
    try:
        failed = take_failed(client)
        if args.command == "list":
            for item in failed:
                print(f"{item.body}\t{item.failed_at}\t{item.queue}\tattempts={item.attempts}"
                      f"\t{item.reason}")
            print(f"{len(failed)} failed crash(es) in {client.names.failed}", file=sys.stderr)
            return 0
        wanted = {strip_breakpad_prefix(c) for c in args.crash_ids}
        done = set()
        for item in failed:
            if args.all or item.message.crash_id in wanted:
                target = requeue(client, item, client.names)
                done.add(item.message.crash_id)
                print(f"requeued {item.body} to {target}")
        missing = wanted - done
        for crash_id in sorted(missing):
            print(f"not in the failed queue: {crash_id}", file=sys.stderr)
        return 1 if missing else 0
    except QueueError as exc:
        print(f"crashline failed: {exc}", file=sys.stderr)
        return 2
    finally:
        client.close()  # gives back every message not requeued
