"""Symbols benchmark (run: python tests/bench/bench_symbols.py; needs the local stack).

Starts ``crashline-webapp`` and a ``crashline-processor`` (whose symbol store is that
webapp) through tests/harness/services.py in a private namespace, and prints, as medians of
several runs:

1. upload throughput: a zip of synthetic ``.sym`` files of ``--zip-mb`` MB (level-1 deflate,
   as ``crashline upload-symbols`` makes them) posted by the command's own uploader, from
   the first byte sent to the answer (received, unpacked, checked, stored on local disk
   with fsync, catalogued); the store is emptied between runs, so every run stores every
   file;
2. late symbols: ``--crashes`` crashes of one module without symbols are processed (a
   module-name signature), then the module's symbols are uploaded; the time from the upload
   until Super Search finds every one of them under its new signature (the upload queues
   them, the processor walks them again fetching the symbols from the webapp, indexes them).

Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

import requests

from crashline.common.database import apply_migrations, database_from_settings
from crashline.common.queue import queue_from_settings
from crashline.common.settings import CommonSettings
from crashline.common.storage import storage_from_settings
from crashline.common.symbols.cli import Upload, Uploader
from crashline.common.symbols.layout import SYMBOLS_PREFIX, SymbolId

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for harness
from harness.bench import (  # noqa: E402
    cleanup,
    machine_line,
    namespace_env,
    settings_kwargs,
    show,
    store_crash,
)
from harness.services import ServiceProcess, free_port, stackwalker_command, wait_for  # noqa: E402
from processor_support.minidump import MinidumpSpec, Module, build_minidump  # noqa: E402


def sym_body(rng: random.Random, size: int) -> bytes:
    """Breakpad records that look like dump_syms output (functions, lines, CFI)."""
    lines: list[str] = []
    total = 0
    address = 0x1000
    while total < size:
        length = rng.randrange(0x10, 0x400)
        name = f"ns{rng.randrange(500)}::Class{rng.randrange(5000)}::method_{rng.randrange(10**6)}"
        record = [f"FUNC {address:x} {length:x} 0 {name}(int, char const*)"]
        record += [f"{address + offset:x} {rng.randrange(1, 16):x} {rng.randrange(1, 5000)} "
                   f"{rng.randrange(300)}" for offset in range(0, length, rng.randrange(4, 64))]
        record.append(f"STACK CFI INIT {address:x} {length:x} .cfa: $rsp 8 + .ra: .cfa -8 + ^")
        lines += record
        total += sum(len(line) + 1 for line in record)
        address += length
    return ("\n".join(lines) + "\n").encode()


def build_zip(path: Path, zip_bytes: int) -> tuple[int, int]:
    """A zip of synthetic symbol files of about ``zip_bytes``; (files, inflated bytes)."""
    rng = random.Random(17)
    bodies = [sym_body(rng, 4 << 20) for _ in range(4)]  # varied, reused with new headers
    files = inflated = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        while path.stat().st_size < zip_bytes:
            ident = uuid.uuid4().hex.upper() + "1"
            name = f"lib{files}.so"
            data = (f"MODULE Linux x86_64 {ident} {name}\nINFO CODE_ID {ident[:32]}\n"
                    f"FILE 0 /build/src/file{files}.cc\n").encode() + bodies[files % 4]
            archive.writestr(SymbolId(name, ident).path, data)
            files += 1
            inflated += len(data)
    return files, inflated


def token_for(env: dict[str, str]) -> str:
    from crashline.webapp.auth.store import AccountStore

    accounts = AccountStore(database_from_settings(CommonSettings(**settings_kwargs(env))))
    user = f"bench-{uuid.uuid4().hex[:8]}"
    accounts.create_user(user, permissions=["upload_symbols"])
    return accounts.create_token(user, ["upload_symbols"])[0]


def forget_symbols(env: dict[str, str], zip_path: Path) -> None:
    """Empty the store and the catalog of the zip's files, so the next run stores them all."""
    settings = CommonSettings(**settings_kwargs(env))
    shutil.rmtree(settings.storage_path / SYMBOLS_PREFIX, ignore_errors=True)
    with zipfile.ZipFile(zip_path) as archive:
        ids = [name.split("/")[1] for name in archive.namelist()]
    with database_from_settings(settings).transaction() as cur:
        cur.execute("DELETE FROM symbol_files WHERE debug_id = ANY(%s)", (ids,))


def bench_upload(uploader: Uploader, env: dict[str, str], zip_path: Path, runs: int) -> None:
    size = zip_path.stat().st_size
    results = []
    for _ in range(runs):
        forget_symbols(env, zip_path)
        began = time.perf_counter()
        answer = uploader.send(Upload(zip_path, "application/zip", "bench.zip"))
        seconds = time.perf_counter() - began
        assert answer["unchanged"] == 0, answer  # every file stored: the figure is real
        results.append({"seconds": seconds, "zip MB/s": size / seconds / 1e6})
    show(f"upload of a {size / 1e6:.0f} MB zip", results)


def count(url: str, **params) -> int:
    response = requests.get(f"{url}/api/SuperSearch/", timeout=60,
                            params={**params, "_results_number": "0"})
    return response.json()["total"] if response.status_code == 200 else -1


def bench_late_symbols(uploader: Uploader, env: dict[str, str], url: str, crashes: int,
                       runs: int, work: Path) -> None:
    settings = CommonSettings(**settings_kwargs(env))
    storage = storage_from_settings(settings)
    queue = queue_from_settings(settings)
    results = []
    for _ in range(runs):
        tag = uuid.uuid4().hex[:8]
        module = Module(name=f"c:\\app\\late{tag}.exe", debug_file=f"late{tag}.pdb",
                        guid=uuid.uuid4())
        dump = build_minidump(MinidumpSpec(modules=[module]))
        for _ in range(crashes):
            queue.publish(queue.names.standard, store_crash(storage, dump))
        wait_for(lambda t=tag: count(url, signature=f"=late{t}.exe") == crashes, 600,
                 "the crashes' first processing")
        sym = work / f"late{tag}.sym"
        sym.write_text(f"MODULE windows x86 {module.debug_id} {module.debug_file}\n"
                       f"FILE 0 c:\\src\\late.cc\nFUNC 1000 100 0 Late{tag}(int)\n"
                       "1000 100 42 0\nFUNC 2000 100 0 main\n2000 100 7 0\n")
        began = time.perf_counter()
        answer = uploader.send(Upload(sym, "text/plain", sym.name))
        uploaded = time.perf_counter() - began
        wait_for(lambda t=tag: count(url, signature=f"=Late{t}") == crashes, 600,
                 "the crashes' new signatures")
        total = time.perf_counter() - began
        queued = answer["reprocessing"].get("queued", 0)
        results.append({"upload answered (s)": uploaded, "all searchable (s)": total,
                        "crashes/s": crashes / total, "queued by the upload": queued})
    queue.close()
    show(f"late symbols: {crashes} crashes from upload to new signatures searchable", results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zip-mb", type=int, default=200)
    parser.add_argument("--crashes", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(machine_line())
    work = Path(tempfile.mkdtemp(prefix="crashline-bench-symbols-"))
    env = namespace_env(work)
    env["CRASHLINE_SYMBOLS_DIRS"] = ""  # the symbol store only
    apply_migrations(database_from_settings(CommonSettings(**settings_kwargs(env))))
    webapp_port = free_port(range(18400, 18450))
    processor_port = free_port(range(19400, 19450))
    url = f"http://127.0.0.1:{webapp_port}"
    services = []
    try:
        services.append(ServiceProcess("crashline-webapp", {
            **env, "CRASHLINE_WEBAPP_BIND": f"127.0.0.1:{webapp_port}",
            "CRASHLINE_WEBAPP_RATE_LIMIT_ANONYMOUS": "0",
            "CRASHLINE_WEBAPP_RATE_LIMIT_AUTHENTICATED": "0",
            "CRASHLINE_WEBAPP_INDEX_CACHE_SECONDS": "0",
            "CRASHLINE_SYMBOLS_UPLOAD_TMP_DIR": str(work)}, webapp_port, work / "webapp.log"))
        services.append(ServiceProcess("crashline-processor", {
            **env, "CRASHLINE_METRICS_PORT": str(processor_port),
            "CRASHLINE_SYMBOLS_STORE_URL": f"{url}/symbols/",
            "CRASHLINE_STACKWALKER_COMMAND": stackwalker_command(),
            "CRASHLINE_PROCESSOR_IDLE_DELAY": "0.05"}, processor_port, work / "processor.log"))
        for service in services:
            service.wait_ready()
        uploader = Uploader(url, token_for(env), progress=False)
        zip_path = work / "symbols.zip"
        files, inflated = build_zip(zip_path, args.zip_mb * 1_000_000)
        print(f"zip: {files} symbol files, {inflated / 1e6:.0f} MB inflated, "
              f"{zip_path.stat().st_size / 1e6:.0f} MB zipped")
        bench_upload(uploader, env, zip_path, args.runs)
        zip_path.unlink()
        bench_late_symbols(uploader, env, url, args.crashes, args.runs, work)
    finally:
        for service in services:
            service.stop()
        cleanup(env)
        shutil.rmtree(work, ignore_errors=True)
    print(machine_line())
    return 0


if __name__ == "__main__":
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    sys.exit(main())
