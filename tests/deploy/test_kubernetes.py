"""The Helm chart (deploy/kubernetes/crashline): rendered by Helm, valid against the
Kubernetes and CRD schemas vendored in deploy/kubernetes/schemas (kubeconform, strict,
offline), and every command, variable, port and probe it names is one the code runs, reads
and serves. Processors scale on the queues the code declares; one crontabber runs."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
import yaml
from harness.deployfiles import (
    CHART,
    DASHBOARD,
    HEALTH_PATHS,
    PROMETHEUS,
    SETTINGS,
    dockerfile_stages,
    environ_reads,
    helm,
    image_commands,
    kubeconform,
    manifests,
    render_chart,
    setting_names,
    settings_from_env,
)
from harness.deployfiles import served_port as port_of
from pydantic import SecretStr

from crashline.common.queue import QueueNames
from crashline.common.settings import CommonSettings

KEDA = ("--api-versions", "keda.sh/v1alpha1/ScaledObject")
STAGES = dockerfile_stages()[1]
EVERYTHING = ("--set", "ingress.enabled=true", "--set", "ingress.webapp.tlsSecret=webapp-tls",
              "--set", "networkPolicy.enabled=true",
              "--set", "networkPolicy.clientsFrom[0].ipBlock.cidr=10.0.0.0/8",
              "--set", "metrics.podMonitor.enabled=true",
              "--set", "metrics.prometheusRule.enabled=true",
              "--set", "metrics.grafanaDashboard.enabled=true",
              "--set", "processor.symbols.existingClaim=symbols",
              "--set", "processor.symbols.urls={https://symbols.example.com/}",
              "--set", "collector.secretEnv.CRASHLINE_COLLECTOR_STAGE_SUBMITTER_TOKEN.secret=s",
              "--set", "collector.secretEnv.CRASHLINE_COLLECTOR_STAGE_SUBMITTER_TOKEN.key=t")
FIXED = ("--set", "processor.autoscaling.keda=false",
         "--set", "collector.autoscaling.enabled=false",
         "--set", "webapp.autoscaling.enabled=false", "--set", "migrations.hook=false")
VARIANTS = {"defaults": (), "keda": KEDA, "no-autoscaling": FIXED,
            "everything": (*KEDA, *EVERYTHING)}


@pytest.fixture(scope="module", params=list(VARIANTS))
def rendered(request) -> tuple[str, list[dict]]:
    text = render_chart(*VARIANTS[request.param])
    return text, manifests(text)


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def deployment(docs: list[dict], service: str) -> dict:
    return by_kind(docs, "Deployment")[f"crashline-{service}"]


def container_env(docs: list[dict], container: dict) -> tuple[dict[str, str], dict[str, dict]]:
    """(plain values, secret references) of a container, its ConfigMaps included."""
    plain, secret = {}, {}
    config_maps = by_kind(docs, "ConfigMap")
    for source in container.get("envFrom", []):
        plain.update(config_maps[source["configMapRef"]["name"]]["data"])
    for item in container.get("env", []):
        if "value" in item:
            plain[item["name"]] = item["value"]
        else:
            secret[item["name"]] = item["valueFrom"]["secretKeyRef"]
    return plain, secret


def secret_fields(settings_class) -> set[str]:
    return {f"CRASHLINE_{name.upper()}" for name, info in settings_class.model_fields.items()
            if info.annotation is SecretStr}


def test_schemas_and_lint(rendered):
    text, docs = rendered
    result = kubeconform(text)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Valid: {len(docs)}, Invalid: 0, Errors: 0, Skipped: 0" in result.stdout


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_helm_lint_strict(variant):
    args = [a for a in VARIANTS[variant] if a not in KEDA]  # lint knows no API versions
    result = helm("lint", "--strict", str(CHART), "--kube-version", "1.35.0", *args)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_mistakes():
    """The same check fails a manifest with a misspelt field or a missing required one."""
    text = render_chart()
    docs = manifests(text)
    deploy = deployment(docs, "collector")
    deploy["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    assert kubeconform(yaml.safe_dump(deploy)).returncode != 0
    del deploy["spec"]["template"]["spec"]["containers"][0]["livenessprobe"]
    del deploy["spec"]["selector"]
    assert kubeconform(yaml.safe_dump(deploy)).returncode != 0


def test_unknown_values_are_refused():
    result = helm("template", "x", str(CHART), "--kube-version", "1.35.0",
                  "--set", "procesor.replicas=3")
    assert result.returncode != 0 and "procesor" in result.stderr


@pytest.mark.parametrize("service", list(SETTINGS))
def test_each_deployment_matches_the_code(rendered, service):
    _, docs = rendered
    spec = deployment(docs, service)["spec"]["template"]
    [container] = spec["spec"]["containers"]
    assert container["image"].startswith(f"crashline-{service}:")
    assert " ".join(container["command"]) in image_commands(service)

    plain, secret = container_env(docs, container)
    names = set(plain) | set(secret)
    unknown = names - setting_names(SETTINGS[service]) - environ_reads()
    assert not unknown, f"{service} is given variables no code reads: {sorted(unknown)}"
    exposed = secret_fields(SETTINGS[service]) & set(plain)
    assert not exposed, f"{service} has secrets as plain values: {sorted(exposed)}"
    # What the process sees: the image's environment, then the pod's; every value parses
    # as the service parses it (secrets as placeholders of their own).
    image_env = {k: v for k, v in STAGES[service].env.items() if k.startswith("CRASHLINE_")}
    settings = settings_from_env(SETTINGS[service], {
        **image_env, **plain, **{k: "x" for k in secret}})

    port = port_of(service, settings)
    [declared] = container["ports"]
    assert declared == {"name": "http", "containerPort": port, "protocol": "TCP"}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        get = container[probe]["httpGet"]
        assert get["port"] == "http" and get["path"] in HEALTH_PATHS
    assert container["livenessProbe"]["httpGet"]["path"] == "/__lbheartbeat__"
    annotations = spec["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(port)
    assert annotations["prometheus.io/path"] in HEALTH_PATHS

    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] and not security["allowPrivilegeEscalation"]
    assert spec["spec"]["securityContext"]["runAsNonRoot"]
    assert spec["spec"]["automountServiceAccountToken"] is False
    assert container["resources"]["requests"]["cpu"] and \
        container["resources"]["requests"]["memory"]
    # The root file system is read-only: whatever the service writes is on a volume big
    # enough for what the settings let it write there.
    room = writable_room(spec["spec"], container)
    assert "/tmp" in room  # temporary files, uploads and the processors' scratch folders
    if service == "processor":
        assert settings.processor_tmp_dir is None  # the system's: /tmp
        [cache] = [m for m in room if settings.symbols_cache_dir.is_relative_to(m)]
        assert room[cache] >= settings.symbols_cache_max_mb * MiB
        store = urlsplit(settings.symbols_store_url)
        webapp = by_kind(docs, "Service")["crashline-webapp"]
        assert (store.hostname, store.port) == (webapp["metadata"]["name"],
                                                webapp["spec"]["ports"][0]["port"])
        assert store.path == "/symbols/"
    if service == "webapp":
        assert settings.symbols_upload_tmp_dir is None  # the system's: /tmp
        assert room["/tmp"] >= (settings.symbols_upload_max_bytes +
                                settings.symbols_upload_max_inflated_bytes)


MiB = 1 << 20
UNITS = {"Ki": 1 << 10, "Mi": MiB, "Gi": 1 << 30, "Ti": 1 << 40}


def quantity(text: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([KMGT]i)?", text).groups()
    return int(number) * UNITS.get(unit or "", 1)


def writable_room(pod: dict, container: dict) -> dict[str, int]:
    """Writable mount path -> the bytes its emptyDir may hold."""
    volumes = {v["name"]: v for v in pod["volumes"]}
    return {m["mountPath"]: quantity(volumes[m["name"]]["emptyDir"]["sizeLimit"])
            for m in container["volumeMounts"]
            if not m.get("readOnly") and "emptyDir" in volumes[m["name"]]}


def test_services_point_at_the_pods_ports(rendered):
    _, docs = rendered
    for service in by_kind(docs, "Service").values():
        component = service["spec"]["selector"]["app.kubernetes.io/component"]
        [port] = service["spec"]["ports"]
        assert port["targetPort"] == "http"
        pods = deployment(docs, component)["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= pods.items()


def test_the_collector_holds_no_database_credentials(rendered):
    _, docs = rendered
    [container] = deployment(docs, "collector")["spec"]["template"]["spec"]["containers"]
    assert "CRASHLINE_DATABASE_URL" not in container_env(docs, container)[1]


def test_no_secret_is_rendered(rendered):
    _, docs = rendered
    assert not [d for d in docs if d["kind"] == "Secret"]
    for config_map in by_kind(docs, "ConfigMap").values():
        for name in config_map.get("data", {}):
            assert name not in set().union(*(secret_fields(c) for c in SETTINGS.values()))


def test_processors_scale_on_the_queues_the_code_reads():
    docs = manifests(render_chart(*KEDA))
    [scaled] = by_kind(docs, "ScaledObject").values()
    target = deployment(docs, "processor")
    assert scaled["spec"]["scaleTargetRef"]["name"] == target["metadata"]["name"]
    assert "replicas" not in target["spec"]  # KEDA owns them
    assert not [h for h in by_kind(docs, "HorizontalPodAutoscaler").values()
                if h["spec"]["scaleTargetRef"]["name"] == target["metadata"]["name"]]
    [container] = target["spec"]["template"]["spec"]["containers"]
    plain, secret = container_env(docs, container)
    names = QueueNames(CommonSettings(queue_prefix=plain["CRASHLINE_QUEUE_PREFIX"]).queue_prefix)
    queues = {t["metadata"]["queueName"] for t in scaled["spec"]["triggers"]}
    assert queues == {names.standard, names.priority, names.reprocessing}
    for trigger in scaled["spec"]["triggers"]:
        assert trigger["type"] == "rabbitmq"
        assert trigger["metadata"]["mode"] == "QueueLength"
        # KEDA reads the broker's address from the processors' own variable (a Secret).
        assert trigger["metadata"]["hostFromEnv"] == "CRASHLINE_RABBITMQ_URL"
        assert "CRASHLINE_RABBITMQ_URL" in secret


def test_without_keda_processors_scale_on_cpu():
    docs = manifests(render_chart())
    assert not by_kind(docs, "ScaledObject")
    hpa = by_kind(docs, "HorizontalPodAutoscaler")["crashline-processor"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": "crashline-processor"}
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    fixed = manifests(render_chart("--set", "processor.autoscaling.keda=false", *KEDA))
    assert not by_kind(fixed, "ScaledObject")
    assert "crashline-processor" not in by_kind(fixed, "HorizontalPodAutoscaler")
    assert deployment(fixed, "processor")["spec"]["replicas"] == 2


def test_collectors_and_webapps_scale_on_cpu_and_keep_a_budget(rendered):
    _, docs = rendered
    hpas = by_kind(docs, "HorizontalPodAutoscaler")
    pdbs = by_kind(docs, "PodDisruptionBudget")
    for service in ("collector", "webapp"):
        name = f"crashline-{service}"
        scaled = name in hpas
        assert scaled != ("replicas" in deployment(docs, service)["spec"])
    for name, pdb in pdbs.items():
        labels = deployment(docs, name.removeprefix("crashline-"))["spec"]["template"][
            "metadata"]["labels"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert set(pdbs) == {"crashline-collector", "crashline-processor", "crashline-webapp"}


def test_exactly_one_crontabber(rendered):
    _, docs = rendered
    cron = deployment(docs, "crontabber")["spec"]
    assert cron["replicas"] == 1
    assert cron["strategy"] == {"type": "Recreate"}  # the old pod goes before the new one
    for kind in ("HorizontalPodAutoscaler", "ScaledObject", "PodDisruptionBudget"):
        assert "crashline-crontabber" not in by_kind(docs, kind)


def test_migrations_run_first(rendered):
    _, docs = rendered
    [job] = by_kind(docs, "Job").values()
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert " ".join(container["command"]) in image_commands("collector")
    assert container["command"] == ["crashline", "migrate"]
    plain, secret = container_env(docs, container)
    assert "CRASHLINE_DATABASE_URL" in secret
    settings_from_env(CommonSettings, {**plain, **{k: "x" for k in secret}})
    hook = job["metadata"].get("annotations", {}).get("helm.sh/hook")
    if hook:
        assert hook == "pre-install,pre-upgrade"
        assert "envFrom" not in container  # a hook runs before the chart's ConfigMap exists
    else:
        assert job["metadata"]["name"].startswith("crashline-migrate-")  # one per revision


def test_monitoring_objects_carry_the_repositorys_files():
    docs = manifests(render_chart(*EVERYTHING))
    [rule] = by_kind(docs, "PrometheusRule").values()
    assert rule["spec"] == yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    dashboard = by_kind(docs, "ConfigMap")["crashline-dashboard"]
    assert json.loads(dashboard["data"]["crashline.json"]) == json.loads(DASHBOARD.read_text())
    [monitor] = by_kind(docs, "PodMonitor").values()
    assert monitor["spec"]["podMetricsEndpoints"][0]["port"] == "http"


def test_the_ingress_publishes_submit_and_the_webapp_only():
    docs = manifests(render_chart(*EVERYTHING))
    [ingress] = by_kind(docs, "Ingress").values()
    routes = {(rule["host"], path["path"], path["backend"]["service"]["name"])
              for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]}
    assert routes == {("crash-reports.example.com", "/submit", "crashline-collector"),
                      ("crash-stats.example.com", "/", "crashline-webapp")}
    assert ingress["spec"]["tls"] == [{"hosts": ["crash-stats.example.com"],
                                       "secretName": "webapp-tls"}]
    policies = by_kind(docs, "NetworkPolicy")
    for service in SETTINGS:
        [rule] = policies[f"crashline-{service}"]["spec"]["ingress"]
        [container] = deployment(docs, service)["spec"]["template"]["spec"]["containers"]
        assert rule["ports"] == [{"port": container["ports"][0]["containerPort"],
                                  "protocol": "TCP"}]
    # Processors fetch symbols from the webapp, whoever else may reach it.
    processors = deployment(docs, "processor")["spec"]["template"]["metadata"]["labels"]
    [webapp] = policies["crashline-webapp"]["spec"]["ingress"]
    assert any(peer.get("podSelector", {}).get("matchLabels", {}).items() <= processors.items()
               and peer.get("podSelector") for peer in webapp["from"])
