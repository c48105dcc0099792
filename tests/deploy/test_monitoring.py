"""The Prometheus files and the Grafana dashboard: loaded by Prometheus's own parsers
(deploy/tools/promql), and reading only metrics and labels the services export, found by
scraping the running services."""

from __future__ import annotations

import json
import re

import pytest
import requests
import yaml
from harness.deployfiles import (
    CHART,
    DASHBOARD,
    HEALTH_PATHS,
    PROMETHEUS,
    ROOT,
    dockerfile_stages,
    manifests,
    promql_tool,
    render_chart,
    run,
)
from harness.services import ServiceProcess, free_port, pipeline, wait_for
from prometheus_client.parser import text_string_to_metric_families

# What the issue asks the alerts to watch, and the dashboard to show.
ALERTS = {"CrashlineBacklogOld", "CrashlineProcessingLagHigh", "CrashlineFailedQueueGrowing",
          "CrashlineJobBroken", "CrashlineLedgerDifference", "CrashlineWebapp5xx",
          "CrashlineCollectorRefusing", "CrashlineStackwalkTimeouts"}
ROWS = {"Collector", "Queues", "Processing", "Webapp and search", "Periodic jobs", "Ledger"}
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


@pytest.fixture(scope="module")
def promql(tmp_path_factory) -> str:
    return promql_tool(str(tmp_path_factory.mktemp("promql")))


@pytest.fixture(scope="module")
def rules(promql) -> list[dict]:
    result = run([promql, "rules", str(PROMETHEUS / "alerts.yml")])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def dashboard_panels() -> list[dict]:
    return [p for p in json.loads(DASHBOARD.read_text())["panels"] if p["type"] != "row"]


def dashboard_queries() -> list[tuple[str, str]]:
    """(PromQL with Grafana's variables replaced, legend) of every panel's queries."""
    out = []
    for panel in dashboard_panels():
        for target in panel["targets"]:
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            out.append((expr, target.get("legendFormat", "")))
    return out


@pytest.fixture(scope="module")
def queries(promql) -> list[dict]:
    exprs = [expr for expr, _ in dashboard_queries()]
    result = run([promql, "exprs"], input=json.dumps(exprs))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_rules_load_as_prometheus_loads_them(rules):
    assert {r["name"] for r in rules if r["kind"] == "alert"} >= ALERTS
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    for rule in (r for g in groups for r in g["rules"]):
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_annotations_name_labels_their_expressions_keep(rules):
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    by_name = {r["name"]: r for r in rules}
    for rule in (r for g in groups for r in g["rules"]):
        text = " ".join(rule["annotations"].values())
        for label in re.findall(r"\$labels\.(\w+)", text):
            assert label in by_name[rule["alert"]]["grouping"], (rule["alert"], label)


@pytest.mark.parametrize("name", ["prometheus.yml", "kubernetes.yml"])
def test_the_scrape_configs_load(promql, name):
    result = run([promql, "config", str(PROMETHEUS / name)])
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["rule_files"] and all((PROMETHEUS / f).is_file() or
                                        (ROOT / f).is_file() for f in loaded["rule_files"])


def test_the_dashboard_queries_parse(queries):
    dashboard = json.loads(DASHBOARD.read_text())
    rows = {p["title"] for p in dashboard["panels"] if p["type"] == "row"}
    assert rows == ROWS
    [variable] = dashboard["templating"]["list"]
    assert variable["type"] == "datasource" and variable["query"] == "prometheus"
    for panel in dashboard_panels():
        assert panel["datasource"]["uid"] == f"${{{variable['name']}}}", panel["title"]
    for query, (_, legend) in zip(queries, dashboard_queries(), strict=True):
        for label in re.findall(r"\{\{\s*(\w+)\s*\}\}", legend):
            assert label in query["grouping"], (query["expr"], label)


def test_the_chart_ships_the_same_files():
    """The chart's files/ are links to these, so Helm packages the very same rules and
    dashboard (tests/deploy/test_kubernetes.py compares what it renders)."""
    for link, target in (("alerts.yml", PROMETHEUS / "alerts.yml"),
                         ("crashline.json", DASHBOARD)):
        assert (CHART / "files" / link).resolve() == target.resolve()


# -- against the running services ---------------------------------------------------------------

def exported(text: str) -> dict[str, set[str]]:
    """Metric names (as PromQL sees them: _total, _bucket...) and the labels each carries."""
    names: dict[str, set[str]] = {}
    suffixes = {"counter": ("_total", "_created"), "histogram": (
        "_bucket", "_sum", "_count", "_created"), "gauge": ("",), "summary": ("_sum", "_count")}
    for family in text_string_to_metric_families(text):
        for suffix in suffixes.get(family.type, ("",)):
            names.setdefault(family.name + suffix, set())
        for sample in family.samples:
            names.setdefault(sample.name, set()).update(sample.labels)
    return names


def submit(url: str, dump: bytes, **annotations: str) -> requests.Response:
    return requests.post(f"{url}/submit", files={"upload_file_minidump": ("dump", dump)},
                         data={"ProductName": "DeployTest", "Version": "1.0", **annotations},
                         timeout=60)


@pytest.fixture(scope="module")
def running(crashline_env, make_schema, search_backend, rabbitmq_client, database,
            tmp_path_factory):
    """The four services on a crash's worth of traffic: a crash accepted and processed, a
    malformed report, a refusal for low disk and a failed save (two more collectors), and a
    crontabber pass over the same queues and storage."""
    from processor_support.minidump import build_minidump

    tmp = tmp_path_factory.mktemp("scrape")
    env = {**crashline_env, "CRASHLINE_LOG_LEVEL": "WARNING"}
    with pipeline(env, tmp, []) as services:
        dump = build_minidump()
        answer = submit(services["collector"].url, dump)
        assert answer.status_code == 200 and answer.text.startswith("CrashID=bp-"), answer.text
        malformed = requests.post(f"{services['collector'].url}/submit", data="x", timeout=30,
                                  headers={"Content-Type": "text/plain"})
        assert malformed.status_code == 400

        def collector(name: str, **settings: str) -> ServiceProcess:
            port = free_port(range(18200, 18250))
            return ServiceProcess("crashline-collector", {
                **env, **settings, "CRASHLINE_COLLECTOR_BIND": f"127.0.0.1:{port}",
                "CRASHLINE_COLLECTOR_WORKERS": "1"}, port, tmp / f"{name}.log")

        crontabber_port = free_port(range(19250, 19300))
        extra = {
            "low_disk": collector("low-disk", CRASHLINE_COLLECTOR_MIN_FREE_DISK=str(2**60)),
            "broken": collector("broken", CRASHLINE_STORAGE_PATH=str(tmp / "broken"),
                                CRASHLINE_COLLECTOR_MIN_FREE_DISK="0",
                                CRASHLINE_COLLECTOR_RETRY_BACKOFF="0.01"),
            "crontabber": ServiceProcess("crashline-crontabber", {
                **env, "CRASHLINE_DATABASE_URL": make_schema(),
                "CRASHLINE_METRICS_PORT": str(crontabber_port),
                "CRASHLINE_CRONTABBER_POLL_SECONDS": "0.5"}, crontabber_port,
                tmp / "crontabber.log")}
        try:
            for service in extra.values():
                service.wait_ready()
            assert submit(extra["low_disk"].url, dump).status_code == 503
            (tmp / "broken").rename(tmp / "broken-was")  # storage fails from now on
            (tmp / "broken").write_text("not a folder")
            assert submit(extra["broken"].url, dump).status_code == 503

            def scrape(service: ServiceProcess) -> str:
                return requests.get(f"{service.url}/metrics", timeout=10).text

            wait_for(lambda: "crashline_processor_crashes_total{" in scrape(
                services["processor"]), 120, "the crash to be processed")
            wait_for(lambda: 'crashline_ledger_differences{' in scrape(extra["crontabber"]),
                     120, "the crontabber's first pass")
            requests.get(f"{services['webapp'].url}/api/SuperSearch/", timeout=30)
            yield {**services, **extra}
        finally:
            for service in extra.values():
                service.stop()


@pytest.fixture(scope="module")
def scraped(running) -> dict[str, set[str]]:
    names: dict[str, set[str]] = {}
    for service in running.values():
        text = requests.get(f"{service.url}/metrics", timeout=10).text
        for name, labels in exported(text).items():
            names.setdefault(name, set()).update(labels)
    return names


def reads_only_exported(what: str, read: dict, scraped: dict[str, set[str]]) -> None:
    for metric in read["metrics"]:
        assert metric in scraped, f"{what} reads {metric}, which no service exports"
        unknown = set(read["labels"].get(metric, [])) - scraped[metric]
        assert not unknown, f"{what} matches {metric} on labels it lacks: {sorted(unknown)}"
    carried = set().union(*(scraped[m] for m in read["metrics"])) | {"le"}
    unknown = set(read["grouping"]) - carried
    assert not unknown, f"{what} groups by labels none of its metrics has: {sorted(unknown)}"


@pytest.mark.integration
def test_the_rules_read_only_exported_metrics(rules, scraped):
    for rule in rules:
        reads_only_exported(f"rule {rule['name']}", rule, scraped)


@pytest.mark.integration
def test_the_dashboard_reads_only_exported_metrics(queries, scraped):
    for query in queries:
        reads_only_exported(f"dashboard query {query['expr']!r}", query, scraped)


@pytest.mark.integration
def test_the_probed_endpoints_are_served(running):
    """Every health path the chart's probes, its scrape annotations and the images' health
    checks name answers 200 on every running service."""
    paths = set()
    for doc in manifests(render_chart()):
        if doc["kind"] != "Deployment":
            continue
        pod = doc["spec"]["template"]
        paths.add(pod["metadata"]["annotations"]["prometheus.io/path"])
        for container in pod["spec"]["containers"]:
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                paths.add(container[probe]["httpGet"]["path"])
    for stage in dockerfile_stages()[1].values():
        paths.update(re.findall(r"\}(/\w+)'", stage.healthcheck))
    assert paths and paths <= HEALTH_PATHS
    for name, service in running.items():
        if name in ("low_disk", "broken"):  # their storage fails on purpose
            continue
        for path in paths:
            answer = requests.get(f"{service.url}{path}", timeout=30)
            assert answer.status_code == 200, (name, path, answer.text[:500])


def test_exported_names_what_promql_sees():
    """Counters end in _total, histograms' series in _bucket, _sum, _count; labels come
    from the samples."""
    text = ("# HELP a_total x\n# TYPE a_total counter\na_total{q=\"s\"} 1.0\n"
            "# HELP h x\n# TYPE h histogram\n"
            "# HELP g x\n# TYPE g gauge\n")
    names = exported(text)
    assert names["a_total"] == {"q"} and "h_bucket" in names and names["g"] == set()
