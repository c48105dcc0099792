"""Running ``minidump-stackwalk`` on one dump, as a bounded subprocess.

The stack walker is the only CPU- and memory-heavy step, and it parses untrusted input, so it
runs in its own process with a kill timeout, an address-space limit and a cap on the size of
what it writes. Every way it can fail becomes a status string and a note; the crash is still
processed (with an ``EMPTY: ...`` signature) and the worker goes on.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import resource
import select
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from crashline.processor.symbol_cache import SymbolCache

log = logging.getLogger(__name__)

LOG_TAIL_LINES = 10

# Status strings for failures the stack walker cannot report itself.
STATUS_EMPTY = "EmptyMinidump"
STATUS_TIMEOUT = "Timeout"
STATUS_OUTPUT_TOO_LARGE = "OutputTooLarge"
STATUS_NOT_RUNNABLE = "StackwalkerNotRunnable"
STATUS_UNKNOWN = "unknown error"


@dataclass
class StackwalkResult:
    """What one stack walk produced; ``json_dump`` is ``{}`` whenever it failed."""

    json_dump: dict = field(default_factory=dict)
    return_code: int | None = None
    status: str = STATUS_UNKNOWN
    stderr: str = ""
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _log_tail(path: Path) -> str:
    try:
        if path.stat().st_size == 0:  # the usual case (it logs errors only): skip the read
            return ""
        lines = path.read_text("utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    tail = "\n".join(lines[-LOG_TAIL_LINES:])
    return f"...\n{tail}" if len(lines) > LOG_TAIL_LINES else tail


def status_from_log(text: str) -> str | None:
    """rust-minidump logs ``ERROR <Name> - Error ...`` when it gives up on a dump."""
    first = text.removeprefix("...\n").lstrip()
    if not first.startswith("ERROR"):
        return None
    tokens = first.split()
    return tokens[1] if len(tokens) > 1 else None


class Stackwalker:
    def __init__(
        self,
        command: str = "minidump-stackwalk",
        *,
        symbols_dirs: Sequence[Path] = (),
        symbols_urls: Sequence[str] = (),
        cache_dir: Path | None = None,
        cache_max_bytes: int | None = None,
        timeout: float = 120.0,
        memory_limit_mb: int = 0,
        max_output_bytes: int = 256 * 1024 * 1024,
    ):
        self.command = command
        self.symbols_dirs = [Path(d) for d in symbols_dirs]
        self.symbols_urls = list(symbols_urls)
        self.cache_dir = Path(cache_dir).resolve() if cache_dir else None
        # The walker's downloads are built here, then renamed into the cache (one filesystem).
        self.downloads = self.cache_dir.parent / ".symbols-tmp" if self.cache_dir else None
        self.cache = (SymbolCache(self.cache_dir, cache_max_bytes, self.downloads)
                      if self.cache_dir is not None and cache_max_bytes is not None else None)
        self.timeout = timeout
        self.memory_limit_mb = memory_limit_mb
        self.max_output_bytes = max_output_bytes
        self._version: str | None = None

    @classmethod
    def from_settings(cls, settings) -> Stackwalker:
        """Symbols are looked up in the symbol store first (the webapp's symbol server), then
        in the configured folders and servers."""
        store = [settings.symbols_store_url] if settings.symbols_store_url else []
        return cls(
            settings.stackwalker_command,
            symbols_dirs=settings.symbols_dirs,
            symbols_urls=list(dict.fromkeys([*store, *settings.symbols_urls])),
            cache_dir=settings.symbols_cache_dir,
            cache_max_bytes=settings.symbols_cache_max_mb * 1024 * 1024,
            timeout=settings.stackwalker_timeout,
            memory_limit_mb=settings.stackwalker_memory_limit_mb,
            max_output_bytes=settings.stackwalker_max_output_mb * 1024 * 1024,
        )

    # -- facts about the binary ---------------------------------------------------------
    def version(self) -> str:
        """``minidump-stackwalk 0.27.0``, or ``unknown`` if it cannot be run."""
        if self._version is None:
            try:
                out = subprocess.run([self.command, "--version"], capture_output=True,
                                     text=True, timeout=30, check=True)
                self._version = out.stdout.strip() or "unknown"
            except (OSError, subprocess.SubprocessError):
                log.warning("cannot run %s --version", self.command, exc_info=True)
                return "unknown"
        return self._version

    def check(self) -> str:
        """Raise unless the stack walker runs (for health checks)."""
        version = self.version()
        if version == "unknown":
            raise RuntimeError(f"{self.command} cannot be run")
        return version

    # -- one walk -----------------------------------------------------------------------
    def argv(self, dump: Path, evil_json: Path, output: Path, log_file: Path,
             symbols_tmp: Path | None) -> list[str]:
        args = [self.command, f"--evil-json={evil_json}"]
        if self.cache_dir is not None:
            args.append(f"--symbols-cache={self.cache_dir}")
        if symbols_tmp is not None:
            args.append(f"--symbols-tmp={symbols_tmp}")
        args += ["--no-color", f"--output-file={output}", f"--log-file={log_file}"]
        args += [f"--symbols-path={d}" for d in self.symbols_dirs]
        args += [f"--symbols-url={url}" for url in self.symbols_urls]
        args += ["--json", "--verbose=error", str(dump)]
        return args

    def _apply_limits(self, pid: int) -> None:
        """Cap the walker's address space and file sizes (output and log files above the
        cap kill it with SIGXFSZ).

        Set from outside right after the spawn rather than in a ``preexec_fn``: that would
        force Python to fork() the whole worker (page tables and all) instead of vfork(),
        which costs more than the walk itself for small dumps. The walker gets its limits
        microseconds after exec, long before it has read a dump."""
        try:
            if self.memory_limit_mb:
                limit = self.memory_limit_mb * 1024 * 1024
                resource.prlimit(pid, resource.RLIMIT_AS, (limit, limit))
            cap = self.max_output_bytes
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (cap, cap))
        except ProcessLookupError:
            pass  # it has exited already

    def walk(self, dump: Path, annotations: Mapping, workdir: Path,
             name: str = "upload_file_minidump") -> StackwalkResult:
        """Walk ``dump``; scratch files go to ``workdir`` (one per crash, removed by caller)."""
        result = StackwalkResult()
        if dump.stat().st_size == 0:
            result.status = STATUS_EMPTY
            result.notes.append(f"{name} is empty--skipping minidump processing")
            return result

        evil_json = workdir / f"{name}.annotations.json"
        output = workdir / f"{name}.stackwalk.json"
        log_file = workdir / f"{name}.stackwalk.log"
        evil_json.write_text(json.dumps(annotations, default=str), "utf-8")
        if self.cache_dir is not None:
            for folder in (self.downloads, self.cache_dir):
                if not folder.is_dir():  # a stat, where mkdir(exist_ok) raises and catches
                    folder.mkdir(parents=True, exist_ok=True)

        argv = self.argv(dump, evil_json, output, log_file, self.downloads)
        started = time.monotonic()
        rc, timed_out = self._run(argv, result, name)
        result.seconds = time.monotonic() - started
        result.return_code = rc
        result.stderr = _log_tail(log_file)

        if rc == 0 and output.is_file():
            result.json_dump = self._parse(output, result, name)
        if self.cache is not None:
            self.cache.used(result.json_dump)
        status = result.json_dump.get("status")
        if not isinstance(status, str) or not status:  # the output is untrusted too
            status = STATUS_UNKNOWN
        if rc == -signal.SIGXFSZ or (rc and output.is_file()
                                       and output.stat().st_size >= self.max_output_bytes):
            status = STATUS_OUTPUT_TOO_LARGE
        elif timed_out:
            status = STATUS_TIMEOUT
        elif rc is None:
            status = STATUS_NOT_RUNNABLE
        logged = status_from_log(result.stderr)
        if logged and status in ("OK", STATUS_UNKNOWN):
            status = logged
            result.notes.append(f"{name}: minidump-stackwalk: {logged}")
        result.status = status

        if status == STATUS_TIMEOUT:
            result.notes.append(f"{name}: minidump-stackwalk: timeout (SIGKILL)")
        elif rc is not None and (rc != 0 or status != "OK"):
            result.notes.append(f"{name}: minidump-stackwalk: failed: {rc}: {status}")
        return result

    def _run(self, argv: list[str], result: StackwalkResult,
             name: str) -> tuple[int | None, bool]:
        """(return code or None if it could not start, whether it was killed for time)"""
        try:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True,
            )
        except OSError as exc:
            result.notes.append(f"{name}: minidump-stackwalk: cannot run: {exc}")
            return None, False
        self._apply_limits(proc.pid)
        try:
            return self._wait(proc)
        except BaseException:
            proc.kill()  # shutting down mid-walk: leave no stack walker behind
            proc.wait()
            raise

    def _wait(self, proc: subprocess.Popen) -> tuple[int, bool]:
        """Wait for the walker; kill its process group once the timeout has passed.

        A poll on a pidfd wakes the moment it exits, with no timer thread per walk
        (``wait(timeout)`` instead sleeps in steps of up to 50 ms, which would dwarf a
        small dump's walk). Where pidfds are missing (Linux < 5.3), a timer kills it."""
        try:
            pidfd = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):
            return self._wait_with_timer(proc)
        try:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            deadline = time.monotonic() + self.timeout
            while not poller.poll(max(0.0, deadline - time.monotonic()) * 1000):
                if time.monotonic() >= deadline:
                    self._kill(proc)
                    proc.wait()
                    return -signal.SIGKILL, True
        finally:
            os.close(pidfd)
        return proc.wait(), False

    def _wait_with_timer(self, proc: subprocess.Popen) -> tuple[int, bool]:
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            self._kill(proc)

        timer = threading.Timer(self.timeout, kill)
        timer.daemon = True
        timer.start()
        try:
            rc = proc.wait()
        finally:
            timer.cancel()
        return (-signal.SIGKILL, True) if timed_out.is_set() else (rc, False)

    @staticmethod
    def _kill(proc: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: its children too

    def _parse(self, output: Path, result: StackwalkResult, name: str) -> dict:
        size = output.stat().st_size
        if size > self.max_output_bytes:
            result.notes.append(f"{name}: minidump-stackwalk output too large ({size} bytes)")
            return {}
        text = output.read_bytes()
        try:
            data = orjson.loads(text)
        except ValueError:
            # orjson is strict (no NaN, 64-bit integers): let json have the last word.
            try:
                data = json.loads(text)
            except ValueError as exc:
                result.notes.append(f"{name}: minidump-stackwalk output is not JSON: {exc}")
                return {}
        if not isinstance(data, dict):
            result.notes.append(f"{name}: minidump-stackwalk output is not an object")
            return {}
        return data
