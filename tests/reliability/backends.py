"""Backends of our own for the fault matrix: PostgreSQL, RabbitMQ, the search engine and the
S3 endpoint, started by ``deploy/local/stack.sh`` in a folder and on ports of their own.

The matrix stops, restarts and cuts its backends; the shared stack that every other test
and ``make run`` use must never notice. So every component runs here with its own
``CRASHLINE_LOCAL_DIR`` (a temporary folder: data, logs, pid files), its own ports (RabbitMQ
also gets its own Erlang node name, from its port), and ``stack.sh stop`` at the end stops
exactly what this run started.

The services reach the S3 endpoint and the search engine through :class:`TcpProxy` fronts,
so a fault can close the port (a stopped endpoint) or stall the traffic (a network
partition). moto keeps its buckets in memory: stopping the process would delete every crash,
which a real S3 or MinIO outage does not, so "S3 stopped" is its port closed in front of it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from processor_support.proxy import TcpProxy

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "deploy" / "local" / "stack.sh"

# What stack.sh reads that must not leak in from a shell that sourced the shared stack's
# env.sh (URLs, ports, the folder): this run sets its own.
_INHERITED_NOT = ("CRASHLINE_LOCAL_DIR", "CRASHLINE_DATABASE_URL", "CRASHLINE_TEST_DATABASE_URL",
                  "CRASHLINE_RABBITMQ_URL", "CRASHLINE_S3_ENDPOINT_URL", "CRASHLINE_SEARCH_URL",
                  "CRASHLINE_RABBITMQ_NODENAME", "CRASHLINE_RABBITMQ_DIST_PORT")

# Port ranges of our own (the shared stack uses 5432, 5672 and 25672, 5000, 9200-9202 and
# 9300-9302; test services 18000-19299).
PG_PORTS = range(25400, 25500)
RABBITMQ_PORTS = range(26600, 26700)
RABBITMQ_DIST_PORTS = range(27600, 27700)
S3_PORTS = range(25000, 25100)
SEARCH_PORTS = range(29200, 29300)  # and the transport port, 100 above


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_port(ports: range, *companions: int) -> int:
    """A free port of ``ports`` whose companions (offsets: a transport port) are free too,
    from a random place in the range (two runs at once must not race for the first)."""
    start = int.from_bytes(os.urandom(2), "big") % len(ports)
    for port in [*ports[start:], *ports[:start]]:
        if all(_free(port + offset) for offset in (0, *companions)):
            return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")


class StackError(RuntimeError):
    pass


class PrivateBackends:
    """The backends of one run; ``start()`` them, ``close()`` stops them and deletes their
    folder (kept with ``keep=True``, to read the logs)."""

    COMPONENTS = ("postgres", "rabbitmq", "search", "s3")

    def __init__(self, root: Path | None = None, *, keep: bool = False):
        self.root = root or Path(tempfile.mkdtemp(prefix="crashline-reliability-"))
        # The search engine and PostgreSQL run as users of their own, who must reach it.
        self.root.chmod(0o755)
        self.keep = keep
        self.ports = {
            "postgres": pick_port(PG_PORTS),
            "rabbitmq": pick_port(RABBITMQ_PORTS),
            "rabbitmq_dist": pick_port(RABBITMQ_DIST_PORTS),
            "s3": pick_port(S3_PORTS),
            "search": pick_port(SEARCH_PORTS, 100),
        }
        self.engine = os.environ.get("CRASHLINE_SEARCH_ENGINE", "elasticsearch")
        self.s3_front: TcpProxy | None = None
        self.search_front: TcpProxy | None = None
        self.events: list[tuple[float, str]] = []  # (time, what) of every stop and start

    # -- stack.sh --------------------------------------------------------------------------
    def _stack_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _INHERITED_NOT}
        env.update({
            "CRASHLINE_LOCAL_DIR": str(self.root),
            "CRASHLINE_PG_PORT": str(self.ports["postgres"]),
            "CRASHLINE_RABBITMQ_PORT": str(self.ports["rabbitmq"]),
            "CRASHLINE_RABBITMQ_DIST_PORT": str(self.ports["rabbitmq_dist"]),
            "CRASHLINE_S3_PORT": str(self.ports["s3"]),
            "CRASHLINE_SEARCH_PORT": str(self.ports["search"]),
            "CRASHLINE_SEARCH_ENGINE": self.engine,
            "CRASHLINE_PYTHON_BIN": str(Path(sys.executable).parent),
        })
        return env

    def stack(self, action: str, components: Iterable[str]) -> None:
        components = list(components)
        self.events.append((time.monotonic(), f"{action} {' '.join(components)}"))
        result = subprocess.run([str(STACK), action, *components], env=self._stack_env(),
                                capture_output=True, text=True, timeout=600)
        with (self.root / "stack.log").open("a") as log:
            log.write(result.stdout + result.stderr)
        if result.returncode != 0:
            raise StackError(f"stack.sh {action} {' '.join(components)} failed "
                             f"({result.returncode}):\n{result.stdout[-3000:]}"
                             f"{result.stderr[-3000:]}")

    def start(self) -> PrivateBackends:
        try:
            self.stack("start", self.COMPONENTS)
            self.s3_front = TcpProxy("127.0.0.1", self.ports["s3"]).start()
            self.search_front = TcpProxy("127.0.0.1", self.ports["search"]).start()
        except BaseException:
            self.close()
            raise
        return self

    def stop_component(self, component: str) -> None:
        self.stack("stop", [component])

    def start_component(self, component: str) -> None:
        self.stack("start", [component])

    def close(self) -> None:
        for front in (self.s3_front, self.search_front):
            if front is not None:
                front.stop()
        try:
            self.stack("stop", self.COMPONENTS)
        finally:
            if not self.keep:
                shutil.rmtree(self.root, ignore_errors=True)

    # -- where things are -----------------------------------------------------------------
    @property
    def database_url(self) -> str:
        return f"postgresql://crashline:crashline@127.0.0.1:{self.ports['postgres']}/crashline"

    @property
    def rabbitmq_url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.ports['rabbitmq']}/%2F"

    def s3_url(self, direct: bool = False) -> str:
        port = self.ports["s3"] if direct else self.s3_front.port
        return f"http://127.0.0.1:{port}"

    def search_url(self, direct: bool = False) -> str:
        port = self.ports["search"] if direct else self.search_front.port
        return f"http://127.0.0.1:{port}"

    def env(self, *, direct: bool = False) -> dict[str, str]:
        """``CRASHLINE_*`` settings of a service on these backends (``direct``: not through
        the fronts, for the harness's own reads)."""
        return {
            "CRASHLINE_DATABASE_URL": self.database_url,
            "CRASHLINE_RABBITMQ_URL": self.rabbitmq_url,
            "CRASHLINE_S3_ENDPOINT_URL": self.s3_url(direct),
            "CRASHLINE_SEARCH_ENGINE": self.engine,
            "CRASHLINE_SEARCH_URL": self.search_url(direct),
        }

    def log_files(self) -> list[Path]:
        return sorted(p for p in (self.root / "log").rglob("*") if p.is_file())
