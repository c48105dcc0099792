"""The processor's symbol lookup order and the bound on its symbol cache: the real
``minidump-stackwalk`` downloading from a real HTTP symbol server (a folder served by the
standard library's server in a thread)."""

from __future__ import annotations

import functools
import http.server
import os
import threading
import uuid
from pathlib import Path

import pytest
from processor_support.minidump import MinidumpSpec, Module, build_minidump, symbol_file

from crashline.processor.settings import ProcessorSettings
from crashline.processor.stackwalker import Stackwalker
from crashline.processor.symbol_cache import SymbolCache


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def symbol_server(tmp_path):
    """(folder, URL): a symbol server whose files are what the folder holds."""
    root = tmp_path / "served"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def cache_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def module(n: int) -> Module:
    return Module(name=f"c:\\app\\m{n}.exe", debug_file=f"m{n}.pdb", guid=uuid.uuid4())


def serve(root: Path, mod: Module) -> int:
    """Symbols for ``mod`` (padded with functions to about 10 KB); their size."""
    functions = {0x1000: (f"Crash{mod.debug_file[:-4]}", 42), 0x2000: ("main", 7)}
    functions.update({0x3000 + 0x100 * i: (f"filler_{i}_{'x' * 40}", i) for i in range(100)})
    return symbol_file(root, mod, functions).stat().st_size


def walk(walker: Stackwalker, tmp_path: Path, mod: Module) -> dict:
    dump = tmp_path / "crash.dmp"
    dump.write_bytes(build_minidump(MinidumpSpec(modules=[mod])))
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return walker.walk(dump, {}, work).json_dump


def top_function(json_dump: dict) -> str | None:
    return json_dump["crashing_thread"]["frames"][0].get("function")


def test_the_store_comes_first(tmp_path):
    settings = ProcessorSettings(symbols_store_url="http://webapp:8080/symbols/",
                                 symbols_urls="https://other.example/,http://webapp:8080/symbols/",
                                 symbols_dirs=str(tmp_path / "s"),
                                 symbols_cache_dir=tmp_path / "cache")
    walker = Stackwalker.from_settings(settings)
    argv = walker.argv(tmp_path / "d", tmp_path / "e", tmp_path / "o", tmp_path / "l", None)
    assert [a.split("=", 1)[1] for a in argv if a.startswith("--symbols-url=")] == [
        "http://webapp:8080/symbols/", "https://other.example/"]
    none = Stackwalker.from_settings(settings.model_copy(update={"symbols_store_url": ""}))
    assert none.symbols_urls == ["https://other.example/", "http://webapp:8080/symbols/"]


def test_the_cache_bound_holds_under_a_stream_of_distinct_modules(tmp_path, symbol_server,
                                                                  stackwalk_binary):
    served, url = symbol_server
    size = serve(served, module(0))
    bound = int(3.5 * (size + 200))  # room for three files (and the walker's INFO line)
    cache = tmp_path / "cache"
    walker = Stackwalker(stackwalk_binary, symbols_urls=[url], cache_dir=cache,
                         cache_max_bytes=bound)
    for n in range(1, 16):
        mod = module(n)
        serve(served, mod)
        json_dump = walk(walker, tmp_path, mod)
        assert top_function(json_dump) == f"Crashm{n}"  # downloaded and used
        assert 0 < cache_bytes(cache) <= bound
        # The file just used stays; the oldest ones went.
        assert (cache / mod.debug_file / mod.debug_id).is_dir()
    assert len(list(cache.iterdir())) <= 3  # emptied module folders go too


def test_least_recently_used_goes_first(tmp_path, symbol_server, stackwalk_binary):
    served, url = symbol_server
    mods = [module(n) for n in range(4)]
    sizes = [serve(served, m) for m in mods]
    cache = tmp_path / "cache"
    walker = Stackwalker(stackwalk_binary, symbols_urls=[url], cache_dir=cache,
                         cache_max_bytes=int(3.5 * (max(sizes) + 200)))
    clock = iter(range(1_000_000, 2_000_000, 10))
    walker.cache.clock = lambda: float(next(clock))  # distinct times, whatever the filesystem
    for mod in (mods[0], mods[1], mods[2], mods[0], mods[3]):  # m0 used again before m3
        assert top_function(walk(walker, tmp_path, mod)) is not None
    cached = sorted(p.name for p in cache.iterdir())
    assert cached == sorted(m.debug_file for m in (mods[0], mods[2], mods[3]))
    # A cached file is used from the cache: the server no longer has it.
    for path in served.rglob("*.sym"):
        path.unlink()
    assert top_function(walk(walker, tmp_path, mods[0])) == "Crashm0"


def test_trim_removes_stale_downloads(tmp_path):
    downloads = tmp_path / "tmp"
    downloads.mkdir()
    (downloads / "old").write_bytes(b"x")
    (downloads / "new").write_bytes(b"x")
    os.utime(downloads / "old", (0, 0))
    SymbolCache(tmp_path / "cache", 100, downloads).trim()
    assert [p.name for p in downloads.iterdir()] == ["new"]
