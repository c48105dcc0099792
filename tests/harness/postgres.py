"""A throwaway PostgreSQL cluster for tests that stop or restart the server.

The local stack's PostgreSQL is shared by every test run (and by other checkouts): a test
must never restart it. This one is the test's own: ``initdb`` into a temporary folder, a
free loopback port, TCP only, trust authentication, deleted at the end. Like the local stack,
it runs as the ``postgres`` OS user (the server refuses to run as root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from harness.services import free_port


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def unavailable_reason() -> str | None:
    """Why a private cluster cannot run here, or None."""
    if _pg_bin() is None:
        return "PostgreSQL server binaries not found (deploy/local/install.sh apt)"
    if os.geteuid() != 0:
        return "a private PostgreSQL cluster needs root (to run it as the postgres user)"
    if shutil.which("setpriv") is None:
        return "setpriv (util-linux) is missing"
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        return "the postgres OS user is missing"
    return None


class PrivatePostgres:
    def __init__(self, ports: range = range(25400, 25500)):
        self.bin = _pg_bin()
        self.port = free_port(ports)
        # Under /tmp, not pytest's folder: the postgres user must be able to reach it.
        self.root = Path(tempfile.mkdtemp(prefix="crashline-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        shutil.chown(self.root, "postgres", "postgres")

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args: str, timeout: float = 120) -> None:
        subprocess.run(["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups",
                        "--", *args], check=True, cwd="/", timeout=timeout,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def _pg_ctl(self, *args: str) -> None:
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                   "-c unix_socket_directories='' -c fsync=off -c max_connections=50")
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                          "-o", options, "-w", "-t", "60", *args)

    def start(self) -> PrivatePostgres:
        self._as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                          "--auth=trust", "--no-sync", "-E", "UTF8")
        self._pg_ctl("start")
        return self

    def restart(self) -> None:
        """A fast restart (what an upgrade or a failover does to clients): every open
        connection is closed; returns once the server accepts connections again."""
        self._pg_ctl("-m", "fast", "restart")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # not running
            self._pg_ctl("-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
