"""``crashline signature``: signatures for crash data, to try list changes on real crashes.

    crashline signature [--json] [--lists DIR] [FILE ...]
    crashline signature [--json] [--lists DIR] --crash-id ID [ID ...]
    crashline signature [--json] [--lists DIR] --crash-ids-from FILE

Each FILE (stdin when none, or ``-``) holds one JSON document or JSON lines. A document is
crash data, a processed crash (it has ``json_dump``) or minidump-stackwalk output (it has
``crash_info``). One line is printed per input: the signature, or with ``--json`` an object with
``signature``, ``proto_signature`` and ``notes``. Bad input is reported on stderr with its file
and line; the other inputs are still processed and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from .convert import crash_data_from_processed_crash, crash_data_from_stackwalker_json
from .generator import SignatureGenerator
from .siglists import SignatureListError


class InputError(Exception):
    """One bad input; reported, then skipped."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crashline signature",
        description="Print the signature of each crash (crash data, processed crash or "
        "stack-walker JSON; one document or JSON lines per file).",
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="input files (default: stdin)")
    parser.add_argument("--json", action="store_true", help="print JSON objects, not text")
    parser.add_argument(
        "--lists",
        type=Path,
        metavar="DIR",
        help="signature lists directory (default: CRASHLINE_SIGNATURE_LISTS_DIR, else ours)",
    )
    ids = parser.add_mutually_exclusive_group()
    ids.add_argument(
        "--crash-id",
        nargs="+",
        action="extend",
        default=[],
        metavar="ID",
        help="processed crashes to load from crash storage",
    )
    ids.add_argument(
        "--crash-ids-from", metavar="FILE", help="file of crash ids, one per line ('-' for stdin)"
    )
    return parser


def to_crash_data(document: Mapping[str, Any]) -> Mapping[str, Any]:
    if "json_dump" in document:
        return crash_data_from_processed_crash(document)
    if isinstance(document.get("crash_info"), Mapping):
        return crash_data_from_stackwalker_json(document)
    return document


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InputError(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value


def parse_documents(text: str, name: str) -> Iterator[Mapping[str, Any] | InputError]:
    """Yield each document of ``text``, or an :class:`InputError` naming file and line."""
    lines = text.splitlines()
    single_line_docs = len([line for line in lines if line.strip()]) > 1
    try:
        yield _object(json.loads(text), f"{name}:1")
        return
    except json.JSONDecodeError as exc:
        if not single_line_docs:
            yield InputError(f"{name}:{exc.lineno}: invalid JSON: {exc.msg}")
            return
    except InputError as exc:
        yield exc
        return
    # More than one line and not one document: JSON lines, each judged on its own.
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield _object(json.loads(line), f"{name}:{number}")
        except json.JSONDecodeError as exc:
            yield InputError(f"{name}:{number}: invalid JSON: {exc.msg}")
        except InputError as exc:
            yield exc


def read_inputs(files: list[str], stdin: TextIO) -> Iterator[Mapping[str, Any] | InputError]:
    for name in files or ["-"]:
        if name == "-":
            yield from parse_documents(stdin.read(), "<stdin>")
            continue
        try:
            text = Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            yield InputError(f"{name}: cannot read: {exc}")
            continue
        yield from parse_documents(text, name)


def read_crash_ids(args: argparse.Namespace, stdin: TextIO) -> list[str]:
    if not args.crash_ids_from:
        return list(args.crash_id)
    if args.crash_ids_from == "-":
        text = stdin.read()
    else:
        text = Path(args.crash_ids_from).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def load_processed_crashes(crash_ids: list[str]) -> Iterator[Mapping[str, Any] | InputError]:
    # Imported here: storage pulls in boto3 and friends that plain signature use does not need.
    from crashline.common.storage import storage_from_settings

    storage = storage_from_settings()
    for crash_id in crash_ids:
        try:
            yield storage.get_processed_crash(crash_id)
        except KeyError:  # CrashNotFound is a KeyError
            yield InputError(f"{crash_id}: processed crash not found")
        except Exception as exc:  # one unreadable crash must not stop the others
            yield InputError(f"{crash_id}: cannot load processed crash: {exc}")


def default_lists_dir() -> Path | None:
    from crashline.common.settings import get_settings

    return get_settings().signature_lists_dir


def format_result(result: Any, as_json: bool) -> str:
    if not as_json:
        return result.signature
    return json.dumps(
        {
            "signature": result.signature,
            "proto_signature": result.proto_signature,
            "notes": result.notes,
        }
    )


def main(argv: list[str], stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    if (args.crash_id or args.crash_ids_from) and args.files:
        parser.error("give either FILEs or crash ids, not both")

    try:
        generator = SignatureGenerator(args.lists or default_lists_dir())
    except SignatureListError as exc:
        print(f"crashline signature: {exc}", file=sys.stderr)
        return 2

    if args.crash_id or args.crash_ids_from:
        try:
            inputs = load_processed_crashes(read_crash_ids(args, stdin))
        except OSError as exc:
            print(f"crashline signature: cannot read crash ids: {exc}", file=sys.stderr)
            return 2
    else:
        inputs = read_inputs(args.files, stdin)

    status = 0
    for item in inputs:
        if isinstance(item, InputError):
            print(f"crashline signature: {item}", file=sys.stderr)
            status = 1
            continue
        result = generator.generate(to_crash_data(item))
        print(format_result(result, args.json), file=stdout)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
