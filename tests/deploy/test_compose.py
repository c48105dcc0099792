"""docker-compose.yml and the images it builds (deploy/docker/Dockerfile): valid for Docker
Compose v2, and every service, port, variable, command and health check they name is one
the code reads, runs and serves."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest
import yaml
from harness.deployfiles import (
    HEALTH_PATHS,
    ROOT,
    SETTINGS,
    compose,
    compose_config,
    dockerfile_stages,
    environ_reads,
    image_commands,
    setting_names,
    settings_from_env,
    url_parts,
)
from harness.deployfiles import served_port as port_of

from crashline.processor.settings import ProcessorSettings

# Compose services that run Crashline, and the image (Dockerfile target) each runs.
CRASHLINE = {"migrate": "collector", "collector": "collector", "processor": "processor",
             "webapp": "webapp", "crontabber": "crontabber"}
LONG_RUNNING = ("collector", "processor", "webapp", "crontabber")
OPENSEARCH = {"COMPOSE_PROFILES": "opensearch", "CRASHLINE_SEARCH_ENGINE": "opensearch",
              "CRASHLINE_SEARCH_URL": "http://opensearch:9200"}
# Where each stateful service keeps its state: a named volume must be mounted there.
STATE = {"rabbitmq": "/var/lib/rabbitmq", "minio": "/data",
         "postgres": "/var/lib/postgresql/data", "elasticsearch": "/usr/share/elasticsearch/data",
         "prometheus": "/prometheus", "grafana": "/var/lib/grafana"}


@pytest.fixture(scope="module")
def config() -> dict:
    return compose_config()


@pytest.fixture(scope="module")
def stages():
    return dockerfile_stages()[1]


def effective_env(service: dict, stage) -> dict[str, str]:
    """What the container's process sees: the image's environment, then Compose's."""
    return {**stage.env, **(service.get("environment") or {})}


def crashline_env(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith("CRASHLINE_")}


@pytest.mark.parametrize("env", [{}, OPENSEARCH], ids=["elasticsearch", "opensearch"])
def test_compose_v2_accepts_the_file(env):
    result = compose("config", "--quiet", **env)
    assert result.returncode == 0, result.stderr


def test_it_runs_the_whole_system(config):
    assert set(config["services"]) == {
        "rabbitmq", "minio", "createbucket", "postgres", "elasticsearch", "migrate",
        "collector", "processor", "webapp", "crontabber", "prometheus", "grafana"}
    assert config["services"]["processor"]["deploy"]["replicas"] == 2
    builds = {name: s["build"]["target"] for name, s in config["services"].items()
              if "build" in s}
    assert builds == CRASHLINE


def test_the_opensearch_profile_swaps_the_engine():
    config = compose_config(**OPENSEARCH)
    assert "opensearch" in config["services"] and "elasticsearch" not in config["services"]
    for name in LONG_RUNNING:
        env = config["services"][name]["environment"]
        assert env["CRASHLINE_SEARCH_ENGINE"] == "opensearch"
        assert env["CRASHLINE_SEARCH_URL"] == "http://opensearch:9200"


def test_the_engine_is_the_local_stacks():
    image = compose_config()["services"]["elasticsearch"]["image"]
    default = re.search(r'echo "\$\{CRASHLINE_ELASTICSEARCH_VERSION:-([0-9.]+)\}"',
                        (ROOT / "deploy/local/lib.sh").read_text()).group(1)
    assert image.endswith(f":{default}")


@pytest.mark.parametrize("name", list(CRASHLINE))
def test_each_crashline_service_matches_the_code(config, stages, name):
    service = config["services"][name]
    target = CRASHLINE[name]
    stage = stages[target]
    settings_class = SETTINGS[target]

    command = " ".join(service.get("command") or stage.cmd)
    assert command in image_commands(target), f"{name} runs {command!r}"

    env = effective_env(service, stage)
    unknown = set(crashline_env(env)) - setting_names(settings_class) - environ_reads()
    assert not unknown, f"{name} sets variables no code reads: {sorted(unknown)}"
    settings = settings_from_env(settings_class, crashline_env(env))  # every value parses

    port = port_of(target, settings)
    published = {p["target"] for p in service.get("ports", [])}
    assert published <= {port}, f"{name} publishes {published}, serves {port}"
    assert stage.expose == [port]


@pytest.mark.parametrize("target", list(SETTINGS))
def test_each_image_checks_its_own_health_endpoint(config, stages, target):
    """The image's HEALTHCHECK asks /__lbheartbeat__ on the port the settings give it, as
    Compose runs it (the port is read from the same variable at run time)."""
    stage = stages[target]
    match = re.search(r"http://127\.0\.0\.1:\$\{(CRASHLINE_\w+)(?:##\*:|:-(\d+))\}(/\S+?)'",
                      stage.healthcheck)
    assert match, stage.healthcheck
    variable, default, path = match.groups()
    assert path == "/__lbheartbeat__" and path in HEALTH_PATHS
    env = effective_env(config["services"][target], stage)
    settings = settings_from_env(SETTINGS[target], crashline_env(env))
    if default:  # ${CRASHLINE_METRICS_PORT:-N}: N must be the settings' own default
        assert variable == "CRASHLINE_METRICS_PORT" and int(default) == settings.metrics_port
        assert variable not in env
    else:  # ${CRASHLINE_X_BIND##*:}: the port of the bind address
        assert port_of(target, settings) == int(env[variable].rpartition(":")[2])


def test_backends_start_first(config):
    services = config["services"]
    assert set(services["collector"]["depends_on"]) == {"rabbitmq", "createbucket"}
    for name in ("processor", "webapp", "crontabber"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["createbucket"]["condition"] == "service_completed_successfully"
        for backend in ("rabbitmq", "postgres", "elasticsearch"):
            assert depends[backend]["condition"] == "service_healthy"
        assert depends["opensearch"] == {"condition": "service_healthy", "required": False}
    for service in services.values():
        for dependency, how in service.get("depends_on", {}).items():
            if how["condition"] == "service_healthy" and dependency in services:
                assert services[dependency].get("healthcheck"), f"{dependency} has no check"


def test_credentials_and_names_agree(config):
    services = config["services"]
    env = services["collector"]["environment"]
    minio = services["minio"]["environment"]
    assert (env["CRASHLINE_S3_ACCESS_KEY_ID"], env["CRASHLINE_S3_SECRET_ACCESS_KEY"]) == (
        minio["MINIO_ROOT_USER"], minio["MINIO_ROOT_PASSWORD"])
    assert env["CRASHLINE_S3_ENDPOINT_URL"] == "http://minio:9000"
    bucket_job = " ".join(services["createbucket"]["command"])
    assert f"crashline/{env['CRASHLINE_S3_BUCKET']}" in bucket_job
    assert f"{minio['MINIO_ROOT_USER']} {minio['MINIO_ROOT_PASSWORD']}" in bucket_job

    rabbit = services["rabbitmq"]["environment"]
    user, password, host, _ = url_parts(env["CRASHLINE_RABBITMQ_URL"])
    assert (user, password, host) == (rabbit["RABBITMQ_DEFAULT_USER"],
                                      rabbit["RABBITMQ_DEFAULT_PASS"], "rabbitmq")
    postgres = services["postgres"]["environment"]
    user, password, host, rest = url_parts(env["CRASHLINE_DATABASE_URL"])
    assert (user, password, host, rest) == (
        postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"], "postgres",
        f":5432/{postgres['POSTGRES_DB']}")
    assert env["CRASHLINE_SEARCH_URL"] == "http://elasticsearch:9200"
    # The processors' symbol store is the webapp's /symbols/, where it serves.
    store = services["processor"]["environment"]["CRASHLINE_SYMBOLS_STORE_URL"]
    webapp = services["webapp"]["ports"][0]["target"]
    assert store == f"http://webapp:{webapp}/symbols/"


def test_state_lives_in_named_volumes(config):
    for name, path in STATE.items():
        mounts = {m["target"]: m for m in config["services"][name].get("volumes", [])}
        assert mounts[path]["type"] == "volume", f"{name} keeps {path} in its container"
        assert mounts[path]["source"] in config["volumes"]


def test_images_are_pinned(config):
    for service in config["services"].values():
        if "build" in service:
            continue
        image = service["image"]
        tag = image.rpartition(":")[2]
        assert "/" not in tag and tag != "latest" and re.search(r"\d", tag), image
    args, _ = dockerfile_stages()
    for name in ("PYTHON_IMAGE", "RUST_IMAGE"):
        assert re.search(r":\d+\.\d+\.\d+-", args[name]), args[name]


def test_prometheus_scrapes_every_service_where_it_serves(config, stages):
    services = config["services"]
    prometheus = services["prometheus"]
    mounts = {m["target"]: Path(m["source"]) for m in prometheus["volumes"]
              if m["type"] == "bind"}
    config_file = next(a for a in prometheus["command"] if a.startswith("--config.file="))
    inside = Path(config_file.partition("=")[2])
    scrape = yaml.safe_load((mounts[str(inside.parent)] / inside.name).read_text())
    targets = {}
    for job in scrape["scrape_configs"]:
        for sd in job["dns_sd_configs"]:
            for host in sd["names"]:
                targets[host] = sd["port"]
    expected = {}
    for name in LONG_RUNNING:
        env = effective_env(services[name], stages[name])
        expected[name] = port_of(name, settings_from_env(SETTINGS[name], crashline_env(env)))
    assert targets == expected


def test_grafana_is_provisioned_from_the_repository(config):
    grafana = config["services"]["grafana"]
    mounts = {m["target"]: Path(m["source"]) for m in grafana["volumes"] if m["type"] == "bind"}
    provisioning = mounts[grafana["environment"]["GF_PATHS_PROVISIONING"]]
    [provider] = yaml.safe_load(
        (provisioning / "dashboards/crashline.yml").read_text())["providers"]
    dashboards = mounts[provider["options"]["path"]]
    assert (dashboards / "crashline.json").is_file()
    [source] = yaml.safe_load(
        (provisioning / "datasources/prometheus.yml").read_text())["datasources"]
    assert source["url"] == "http://prometheus:9090"


def test_each_image_installs_its_own_package_and_runs_as_a_user(stages):
    for target in SETTINGS:
        stage = stages[target]
        assert f"--from={target}-build /opt/crashline /opt/crashline" in stage.copies
        assert stages[f"{target}-build"].copies == [
            f"services/{target} /src/services/{target}"]
        assert stages[f"{target}-build"].base == "python-build"  # libs/common, once
        user = stage.user.partition(":")[0]
        assert user.isdigit() and int(user) > 0, f"{target} runs as {stage.user!r}"
        assert stage.labels["org.opencontainers.image.title"] == f"crashline-{target}"
        assert {"org.opencontainers.image.version",
                "org.opencontainers.image.source"} <= set(stage.labels)
    # Only the processor gets the stack walker, where its default command finds it.
    walkers = [t for t in SETTINGS if any("--from=stackwalk" in c for c in stages[t].copies)]
    assert walkers == ["processor"]
    [copy] = [c for c in stages["processor"].copies if "--from=stackwalk" in c]
    destination = copy.split()[-1]
    assert Path(destination).name == ProcessorSettings().stackwalker_command
    assert str(Path(destination).parent) in stages["processor"].env["PATH"].split(":")


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern that matches the path or one of its parents wins."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        candidates = [pattern, pattern.removeprefix("**/")] if pattern.startswith("**/") \
            else [pattern]
        for prefix in prefixes:
            tails = ["/".join(prefix.split("/")[i:]) for i in range(len(prefix.split("/")))]
            if any(fnmatch.fnmatchcase(prefix, c) for c in candidates) or (
                    pattern.startswith("**/") and any(
                        fnmatch.fnmatchcase(t, candidates[1]) for t in tails)):
                ignored = not negate
                break
    return ignored


def test_the_build_context_holds_the_packages_only(stages):
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for path in (".git/config", ".venv/bin/python", ".local/data/crashes/x", ".env",
                 "tests/conftest.py", "README.md", "deploy/docker/Dockerfile",
                 "services/collector/src/crashline/__pycache__/x.pyc"):
        assert dockerignored(path, patterns), f"{path} would be sent to the builder"
    sources = {c.split()[0] for stage in stages.values() for c in stage.copies
               if not c.startswith("--from=")}
    assert sources == {"libs/common", *(f"services/{s}" for s in SETTINGS)}
    for source in sources:
        assert (ROOT / source / "pyproject.toml").is_file()
        assert not dockerignored(f"{source}/pyproject.toml", patterns), source
