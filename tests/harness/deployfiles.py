"""What the deploy tests (tests/deploy/) read, and what they compare it with.

The deploy files, as their own tools see them: the Compose file as Docker Compose v2
resolves it, the chart as Helm renders it, the manifests as kubeconform validates them,
the Prometheus files through Prometheus's own parsers (deploy/tools/promql), and the
Dockerfile's stages. The tools are built from the Go module proxy by
``deploy/local/install.sh deploy-tools`` (``make test`` runs it); a missing one fails the
test that needs it, naming that command.

And what the code declares: each service's settings class, console scripts and
``crashline`` subcommands (its pyproject.toml), the health routes, the queue names.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import pytest
import yaml

from crashline.collector.settings import CollectorSettings
from crashline.common.settings import CommonSettings
from crashline.crontabber.settings import CrontabberSettings
from crashline.processor.settings import ProcessorSettings
from crashline.webapp.settings import WebappSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy/docker/Dockerfile"
CHART = ROOT / "deploy/kubernetes/crashline"
SCHEMAS = ROOT / "deploy/kubernetes/schemas"
PROMETHEUS = ROOT / "deploy/prometheus"
DASHBOARD = ROOT / "deploy/grafana/dashboards/crashline.json"
PROMQL_TOOL = ROOT / "deploy/tools/promql"
KUBERNETES_VERSION = "1.35.0"  # the schemas' (deploy/kubernetes/schemas/_sources.json)

# Each service: its package folder and settings class; the image of each is named for it.
SETTINGS = {"collector": CollectorSettings, "processor": ProcessorSettings,
            "webapp": WebappSettings, "crontabber": CrontabberSettings}
HEALTH_PATHS = {"/__lbheartbeat__", "/__heartbeat__", "/__version__", "/metrics"}
INSTALL_HINT = "run `deploy/local/install.sh deploy-tools` (make test does)"


def package_dir(service: str) -> Path:
    return ROOT / "services" / service


# -- the tools --------------------------------------------------------------------------------

def go_tool(name: str) -> str:
    """A tool install.sh builds: on PATH, or where `go install` puts it."""
    found = shutil.which(name)
    if found:
        return found
    gopath = os.environ.get("GOPATH") or str(Path.home() / "go")
    for folder in (os.environ.get("GOBIN"), *(Path(p) / "bin" for p in gopath.split(":"))):
        if folder and (Path(folder) / name).is_file():
            return str(Path(folder) / name)
    pytest.fail(f"{name} is not installed: {INSTALL_HINT}", pytrace=False)


def run(args: list[str], *, env: dict[str, str] | None = None, input: str | None = None,
        cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, input=input, cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without Crashline's and Compose's variables, so that the
    files' own defaults are what gets checked."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CRASHLINE_", "COMPOSE_"))}
    return {**env, **extra}


@functools.cache
def promql_tool(build_dir: str) -> str:
    """deploy/tools/promql, built offline from the module cache (a second build is a cache
    hit: a couple of seconds)."""
    go = shutil.which("go")
    if not go:
        pytest.fail("go is not on PATH: deploy/tools/promql cannot be built", pytrace=False)
    out = str(Path(build_dir) / "promql")
    built = run([go, "build", "-o", out, "."], cwd=PROMQL_TOOL,
                env={**os.environ, "GOPROXY": "off", "GOFLAGS": "-mod=readonly"})
    if built.returncode:
        pytest.fail(f"deploy/tools/promql does not build offline ({INSTALL_HINT}):\n"
                    f"{built.stderr}", pytrace=False)
    return out


# -- Compose ----------------------------------------------------------------------------------

def compose(*args: str, **env: str) -> subprocess.CompletedProcess:
    return run([go_tool("docker-compose-v2"), "-f", str(COMPOSE_FILE), *args],
               env=clean_env(**env))


def compose_config(**env: str) -> dict:
    """The Compose file as `docker compose` resolves it (interpolation, anchors, profiles)."""
    result = compose("config", "--format", "json", **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# -- Helm and kubeconform -----------------------------------------------------------------------

def helm(*args: str) -> subprocess.CompletedProcess:
    return run([go_tool("helm"), *args], env=clean_env())


def render_chart(*args: str) -> str:
    """``helm template`` of the chart as release ``crashline``; ``args`` add values or API
    versions."""
    result = helm("template", "crashline", str(CHART), "--kube-version", KUBERNETES_VERSION,
                  *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def manifests(rendered: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


def kubeconform(rendered: str) -> subprocess.CompletedProcess:
    """Strict validation against the vendored schemas only (no download: an unknown kind
    is an error, not a skip)."""
    location = str(SCHEMAS / "{{ .ResourceKind }}{{ .KindSuffix }}.json")
    return run([go_tool("kubeconform"), "-strict", "-summary", "-schema-location", location,
                "-"], input=rendered, env=clean_env())


# -- the Dockerfile ---------------------------------------------------------------------------

@dataclass
class Stage:
    name: str
    base: str
    env: dict[str, str] = field(default_factory=dict)
    cmd: list[str] = field(default_factory=list)
    expose: list[int] = field(default_factory=list)
    user: str = ""
    healthcheck: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    copies: list[str] = field(default_factory=list)  # each COPY instruction's arguments
    runs: list[str] = field(default_factory=list)


def _instructions(text: str) -> Iterator[tuple[str, str]]:
    logical = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not logical and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):  # a comment inside a continued instruction
            continue
        if stripped.endswith("\\"):
            logical += stripped[:-1] + " "
            continue
        logical += stripped
        word, _, rest = logical.partition(" ")
        yield word.upper(), rest.strip()
        logical = ""


def _env_pairs(text: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in shlex.split(text))


def dockerfile_stages(path: Path = DOCKERFILE) -> tuple[dict[str, str], dict[str, Stage]]:
    """The Dockerfile's global ARG defaults and its stages; a stage built FROM another
    inherits its environment, as BuildKit does."""
    args: dict[str, str] = {}
    stages: dict[str, Stage] = {}
    stage: Stage | None = None
    for word, rest in _instructions(path.read_text()):
        if word == "ARG" and stage is None:
            name, _, default = rest.partition("=")
            args[name] = default
        elif word == "FROM":
            base, _, name = rest.partition(" AS ")
            inherited = stages.get(base)
            stage = Stage(name=name.strip(), base=base.strip(),
                          env=dict(inherited.env) if inherited else {},
                          labels=dict(inherited.labels) if inherited else {})
            stages[stage.name] = stage
        elif stage is None:
            continue
        elif word == "ENV":
            stage.env.update(_env_pairs(rest))
        elif word == "LABEL":
            stage.labels.update(_env_pairs(rest))
        elif word == "CMD":
            stage.cmd = json.loads(rest)
        elif word == "EXPOSE":
            stage.expose = [int(port) for port in rest.split()]
        elif word == "USER":
            stage.user = rest
        elif word == "HEALTHCHECK":
            stage.healthcheck = rest
        elif word == "COPY":
            stage.copies.append(rest)
        elif word == "RUN":
            stage.runs.append(rest)
    return args, stages


# -- what the code declares --------------------------------------------------------------------

def pyproject(folder: Path) -> dict:
    return tomllib.loads((folder / "pyproject.toml").read_text())


def console_scripts(folder: Path) -> set[str]:
    return set(pyproject(folder)["project"].get("scripts", {}))


def crashline_commands(folder: Path) -> set[str]:
    entry_points = pyproject(folder)["project"].get("entry-points", {})
    return set(entry_points.get("crashline.commands", {}))


def image_commands(service: str) -> set[str]:
    """What the service's image can run: its console scripts and libs/common's, and
    ``crashline <command>`` for the commands of both packages."""
    common = ROOT / "libs/common"
    folders = (common, package_dir(service))
    commands = set().union(*(crashline_commands(f) for f in folders))
    return set().union(*(console_scripts(f) for f in folders)) | {
        f"crashline {command}" for command in commands}


def env_name(field_name: str) -> str:
    return f"CRASHLINE_{field_name.upper()}"


def setting_names(settings_class: type[CommonSettings]) -> set[str]:
    return {env_name(name) for name in settings_class.model_fields}


def settings_from_env(settings_class: type[CommonSettings], env: dict[str, str]):
    """The settings a process started with exactly ``env`` would read (the same parsing of
    every variable: lists, JSON, numbers), or pydantic's ValidationError."""
    with mock.patch.dict(os.environ, env, clear=True):
        return settings_class()


def bind_port(bind: str) -> int:
    return int(bind.rpartition(":")[2])


def served_port(service: str, settings) -> int:
    """Where a service answers health and metrics: the web services on their bind address,
    the others on their metrics port."""
    if service == "collector":
        return bind_port(settings.collector_bind)
    if service == "webapp":
        return bind_port(settings.webapp_bind)
    return settings.metrics_port


def url_parts(url: str) -> tuple[str, str, str, str]:
    """(user, password, host, rest) of a URL with credentials."""
    match = re.fullmatch(r"[a-z]+://([^:@/]+):([^@/]+)@([^:/]+)(.*)", url)
    assert match, f"not a URL with credentials: {url}"
    return match.group(1), match.group(2), match.group(3), match.group(4)


def environ_reads() -> set[str]:
    """``CRASHLINE_*`` variables the code reads from the environment itself, outside the
    settings classes (``os.environ.get("CRASHLINE_X")``, ``os.getenv``, ``os.environ[...]``)."""
    import ast

    names = set()
    for path in [*ROOT.glob("libs/*/src/**/*.py"), *ROOT.glob("services/*/src/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in (
                    "os.environ.get", "os.getenv", "environ.get"):
                key = node.args[0] if node.args else None
            elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
                key = node.slice
            else:
                continue
            if isinstance(key, ast.Constant) and str(key.value).startswith("CRASHLINE_"):
                names.add(key.value)
    return names
