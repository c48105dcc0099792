"""``crashline submit``: post a crash report like a Breakpad client and print its crash id."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from crashline.collector.client import submit

DEFAULT_URL = "http://127.0.0.1:8000/submit"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crashline submit",
        description="Post a crash report (multipart, optionally gzipped) to a collector and "
                    "print the crash id it returns.",
    )
    parser.add_argument("--url", default=os.environ.get("CRASHLINE_SUBMIT_URL", DEFAULT_URL),
                        help="collector submit URL (default $CRASHLINE_SUBMIT_URL or %(default)s)")
    parser.add_argument("--dump", action="append", default=[], metavar="[NAME=]PATH",
                        help="a dump file; the first without NAME is upload_file_minidump "
                             "(repeat for more dumps)")
    parser.add_argument("-a", "--annotation", action="append", default=[], metavar="KEY=VALUE",
                        help="an annotation (repeatable)")
    parser.add_argument("--annotations-json", type=Path, metavar="FILE",
                        help="a JSON object of annotations (arguments override its keys)")
    parser.add_argument("--gzip", action="store_true", help="gzip the body (Content-Encoding)")
    parser.add_argument("--json-extra", action="store_true",
                        help="send the annotations as one JSON part named 'extra'")
    parser.add_argument("--mixed", action="store_true",
                        help="send multipart/mixed instead of multipart/form-data")
    parser.add_argument("--token", default=os.environ.get("CRASHLINE_SUBMIT_TOKEN"),
                        help="stage-submitter bearer token (with a 'uuid' annotation)")
    parser.add_argument("--timeout", type=float, default=60.0)
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    annotations: dict[str, object] = {}
    if args.annotations_json:
        try:
            loaded = json.loads(args.annotations_json.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"crashline submit: cannot read {args.annotations_json}: {exc}", file=sys.stderr)
            return 2
        if not isinstance(loaded, dict):
            print(f"crashline submit: {args.annotations_json} is not a JSON object",
                  file=sys.stderr)
            return 2
        annotations.update(loaded)
    for item in args.annotation:
        key, sep, value = item.partition("=")
        if not sep or not key:
            print(f"crashline submit: annotation {item!r} is not KEY=VALUE", file=sys.stderr)
            return 2
        annotations[key] = value
    dumps: dict[str, bytes] = {}
    for item in args.dump:
        name, sep, path = item.partition("=")
        if not sep:
            name, path = ("upload_file_minidump" if "upload_file_minidump" not in dumps
                          else Path(item).stem), item
        try:
            dumps[name] = Path(path).read_bytes()
        except OSError as exc:
            print(f"crashline submit: cannot read dump {path}: {exc}", file=sys.stderr)
            return 2
    try:
        result = submit(args.url, annotations, dumps, compress=args.gzip,
                        use_json=args.json_extra, mixed=args.mixed, token=args.token,
                        timeout=args.timeout)
    except OSError as exc:
        print(f"crashline submit: cannot post to {args.url}: {exc}", file=sys.stderr)
        return 1
    if result.crash_id:
        print(result.crash_id)
        return 0
    print(f"crashline submit: HTTP {result.status}: {result.body.strip() or '(empty)'}",
          file=sys.stderr)
    return 1
