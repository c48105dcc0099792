"""``crashline upload-symbols DIR|ZIP|FILE.sym...``: upload Breakpad symbol files to the
webapp (``POST /api/UploadSymbols/``), with a progress bar.

A folder is searched for ``*.sym`` files wherever they are (``dump_syms`` output need not be
in the symbol layout yet): each goes where its MODULE line says, and a file already in the
layout must agree with it. They are sent as zip archives of at most ``--batch-mb`` of symbols
each, so no request outgrows the server's bounds. Zip archives and single ``.sym`` files are
sent as they are. The token comes from ``--token`` or ``CRASHLINE_API_TOKEN`` and needs the
``upload_symbols`` permission.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tqdm import tqdm

from crashline.common.retry import Backoff
from crashline.common.symbols.archive import is_zip
from crashline.common.symbols.layout import SymbolError, SymbolId, parse_path
from crashline.common.symbols.symfile import MAGIC, check_module, read_module_line

DEFAULT_URL = "http://127.0.0.1:8080"
ENDPOINT = "/api/UploadSymbols/"
_BLOCK = 1024 * 1024
# Worth another try: the webapp restarting, or a backend of it away for a moment.
_RETRY_STATUSES = {502, 503, 504}


class UploadRefused(Exception):
    """The webapp refused an upload (the message is its answer)."""


class _Retry(Exception):
    pass


@dataclass(frozen=True)
class Upload:
    """One request: a file to send as it is, and what to call it."""

    path: Path
    content_type: str
    label: str


def find_symbols(root: Path) -> Iterator[tuple[SymbolId, Path]]:
    """(where it belongs, file) for every ``*.sym`` under ``root``; :class:`SymbolError` for
    a file that is no symbol file or sits in the layout under another module's path."""
    for path in sorted(root.rglob("*.sym")):
        if not path.is_file() or path.is_symlink():
            continue
        with path.open("rb") as f:
            try:
                module, _ = read_module_line(f)
            except SymbolError as exc:
                raise SymbolError(f"{path}: {exc}") from None
        try:  # a file in the layout must be where it belongs
            where = parse_path("/".join(path.relative_to(root).parts[-3:]))
        except SymbolError:
            where = None
        if where is not None:
            check_module(module, where, str(path))
        yield module.symbol, path


def batches(files: Sequence[tuple[SymbolId, Path]], max_bytes: int, max_files: int
            ) -> Iterator[list[tuple[SymbolId, Path]]]:
    batch: list[tuple[SymbolId, Path]] = []
    size = 0
    for symbol, path in files:
        length = path.stat().st_size
        if batch and (size + length > max_bytes or len(batch) >= max_files):
            yield batch
            batch, size = [], 0
        batch.append((symbol, path))
        size += length
    if batch:
        yield batch


def write_zip(batch: Sequence[tuple[SymbolId, Path]], target: Path) -> Path:
    # Level 1: most of the size saved at a fraction of the time of the default level.
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for symbol, path in batch:
            archive.write(path, symbol.path)
    return target


class _Progress:
    """A file read through a progress bar."""

    def __init__(self, f, bar: tqdm):
        self.f = f
        self.bar = bar

    def read(self, size: int = -1) -> bytes:
        data = self.f.read(size)
        self.bar.update(len(data))
        return data


class Uploader:
    def __init__(self, url: str, token: str, *, timeout: float = 600.0,
                 progress: bool = True, retry: Backoff | None = None):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not a webapp URL: {url!r}")
        self.parts = parts
        self.token = token
        self.timeout = timeout
        self.progress = progress
        self.retry = retry or Backoff(4, 2.0, 30.0)

    def _connection(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.parts.scheme == "https" \
            else http.client.HTTPConnection
        return cls(self.parts.hostname, self.parts.port, timeout=self.timeout,
                   blocksize=_BLOCK)

    def send(self, upload: Upload) -> dict:
        """POST one file; its answer. :class:`UploadRefused` if the webapp says no."""
        return self.retry.run(lambda: self._send(upload), (_Retry, OSError),
                              what=f"uploading {upload.label}")

    def _send(self, upload: Upload) -> dict:
        size = upload.path.stat().st_size
        path = self.parts.path.rstrip("/") + ENDPOINT
        connection = self._connection()
        try:
            with upload.path.open("rb") as f, tqdm(
                    total=size, unit="B", unit_scale=True, unit_divisor=1024,
                    desc=upload.label, disable=not self.progress, file=sys.stderr,
                    leave=False) as bar:
                connection.request("POST", path, body=_Progress(f, bar), headers={
                    "Auth-Token": self.token, "Content-Type": upload.content_type,
                    "Content-Length": str(size), "User-Agent": "crashline-upload-symbols/1"})
                response = connection.getresponse()
                text = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        if response.status in _RETRY_STATUSES:
            raise _Retry(f"HTTP {response.status}: {text[:200]}")
        try:
            answer = json.loads(text)
        except ValueError:
            answer = {"error": text[:500]}
        if response.status != 201:
            raise UploadRefused(f"HTTP {response.status}: {answer.get('error') or text[:500]}")
        return answer


def plan(paths: Sequence[Path], scratch: Path, max_bytes: int, max_files: int
         ) -> Iterator[Upload]:
    """The requests that upload ``paths`` (folders are zipped into ``scratch`` lazily, one
    batch at a time)."""
    for path in paths:
        if path.is_dir():
            found = list(find_symbols(path))
            if not found:
                raise SymbolError(f"{path}: no .sym file in it")
            for n, batch in enumerate(batches(found, max_bytes, max_files)):
                archive = write_zip(batch, scratch / f"batch-{n}.zip")
                yield Upload(archive, "application/zip",
                             f"{path} ({len(batch)} files, part {n + 1})")
                archive.unlink()
            continue
        with path.open("rb") as f:
            head = f.read(len(MAGIC))
        if is_zip(head):
            yield Upload(path, "application/zip", str(path))
        elif head.startswith(MAGIC):
            yield Upload(path, "text/plain", str(path))
        else:
            raise SymbolError(f"{path}: neither a folder, a zip archive nor a .sym file")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crashline upload-symbols", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path, metavar="DIR|ZIP|FILE.sym")
    parser.add_argument("--url", default=os.environ.get("CRASHLINE_WEBAPP_URL", DEFAULT_URL),
                        help="the webapp (default: $CRASHLINE_WEBAPP_URL or %(default)s)")
    parser.add_argument("--token", default=os.environ.get("CRASHLINE_API_TOKEN"),
                        help="API token with upload_symbols (default: $CRASHLINE_API_TOKEN)")
    parser.add_argument("--batch-mb", type=int, default=512,
                        help="symbols per request from a folder, in MiB (default 512)")
    parser.add_argument("--batch-files", type=int, default=5000,
                        help="files per request from a folder (default 5000)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("give an API token with --token or CRASHLINE_API_TOKEN")
    for path in args.paths:
        if not path.exists():
            parser.error(f"{path} does not exist")
    try:
        uploader = Uploader(args.url, args.token, progress=not args.no_progress)
    except ValueError as exc:
        parser.error(str(exc))
    totals = {"stored": 0, "unchanged": 0, "queued": 0}
    with tempfile.TemporaryDirectory(prefix="crashline-upload-") as scratch:
        try:
            for upload in plan(args.paths, Path(scratch), args.batch_mb * 1024 * 1024,
                               args.batch_files):
                answer = uploader.send(upload)
                reprocessing = answer.get("reprocessing") or {}
                print(f"{upload.label}: {answer['stored']} stored, {answer['unchanged']} "
                      f"already there; {reprocessing.get('found', 0)} crashes to reprocess",
                      file=sys.stderr)
                totals["stored"] += answer["stored"]
                totals["unchanged"] += answer["unchanged"]
                totals["queued"] += reprocessing.get("found", 0)
        except (SymbolError, UploadRefused) as exc:
            print(f"crashline upload-symbols: {exc}", file=sys.stderr)
            return 1
        except (_Retry, OSError) as exc:
            print(f"crashline upload-symbols: cannot reach {args.url}: {exc}", file=sys.stderr)
            return 1
    print(json.dumps(totals))
    return 0
