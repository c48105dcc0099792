"""Write the JSON schemas that tests/deploy validates the chart's manifests against, offline.

    .venv/bin/python deploy/kubernetes/schemas/update.py

The schemas come from Go modules (``go mod download``, the Go module proxy): Kubernetes's
own OpenAPI document (``k8s.io/kubernetes``, ``api/openapi-spec/swagger.json``) for the
built-in kinds, and the CRDs that KEDA and the Prometheus Operator ship in their modules for
``ScaledObject``, ``PodMonitor`` and ``PrometheusRule``. Only the kinds the chart renders
are kept (``KINDS``, ``CRDS``), in kubeconform's file naming
(``<kind>-<group>-<version>.json``), each a small file that refers to the definitions it
needs in ``_definitions.json``.

The schemas are strict, as a careful API server is: every object that lists its properties
admits no others (a misspelt field is an error, where the API server would drop it with
at most a warning), ``IntOrString`` and ``Quantity`` take a number or a string, and each
file pins its ``apiVersion`` and ``kind``. Descriptions are dropped.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent

KUBERNETES = "k8s.io/kubernetes@v1.35.4"
KEDA = "github.com/kedacore/keda/v2@v2.21.0"
PROMETHEUS_OPERATOR = "github.com/prometheus-operator/prometheus-operator@v0.85.0"

# (apiVersion, kind) of the built-in kinds the chart renders.
KINDS = [
    ("v1", "ConfigMap"),
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    ("batch/v1", "Job"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("networking.k8s.io/v1", "Ingress"),
]
# (module, file in it, version) of each custom resource the chart renders.
CRDS = [
    (KEDA, "config/crd/bases/keda.sh_scaledobjects.yaml", "v1alpha1"),
    (PROMETHEUS_OPERATOR, "example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml",
     "v1"),
    (PROMETHEUS_OPERATOR,
     "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml", "v1"),
]

DEFINITIONS = "_definitions.json"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
INT_OR_STRING = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
QUANTITY = {"oneOf": [{"type": "string"}, {"type": "number"}]}
REPLACED = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": INT_OR_STRING,
    "io.k8s.apimachinery.pkg.api.resource.Quantity": QUANTITY,
}
DROPPED_KEYS = {"description", "format", "example", "externalDocs"}


def module_dir(module: str) -> Path:
    out = subprocess.run(["go", "mod", "download", "-json", module], check=True,
                         capture_output=True, text=True).stdout
    return Path(json.loads(out)["Dir"])


def file_name(api_version: str, kind: str) -> str:
    """kubeconform's ``{{ .ResourceKind }}{{ .KindSuffix }}.json``."""
    group, _, version = api_version.rpartition("/")
    suffix = f"-{group.split('.')[0]}-{version}" if group else f"-{version}"
    return f"{kind.lower()}{suffix}.json"


def strict(node: object, preserve_key: str = "x-kubernetes-preserve-unknown-fields") -> object:
    """The schema with descriptions and extensions dropped, and closed objects."""
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref", "")
    if ref.startswith("#/definitions/") and ref.removeprefix("#/definitions/") in REPLACED:
        return REPLACED[ref.removeprefix("#/definitions/")]
    out = {}
    for key, value in node.items():
        if key in DROPPED_KEYS or key.startswith("x-"):
            continue
        if key == "properties":
            out[key] = {name: strict(prop) for name, prop in value.items()}
        else:
            out[key] = strict(value)
    if "properties" in node and "additionalProperties" not in node and not node.get(preserve_key):
        out["additionalProperties"] = False
    return out


def refs(node: object) -> set[str]:
    if isinstance(node, list):
        return set().union(*(refs(item) for item in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = {node["$ref"].removeprefix("#/definitions/")} if "$ref" in node else set()
    return found.union(*(refs(value) for value in node.values()))


def closure(definitions: dict, roots: list[str]) -> dict:
    needed, todo = {}, list(roots)
    while todo:
        name = todo.pop()
        if name in needed or name in REPLACED:
            continue
        needed[name] = strict(definitions[name])
        todo.extend(refs(definitions[name]))
    return dict(sorted(needed.items()))


def identity(api_version: str, kind: str) -> dict:
    return {"properties": {"apiVersion": {"enum": [api_version]}, "kind": {"enum": [kind]}},
            "required": ["apiVersion", "kind"]}


def builtin_schemas(swagger: dict) -> tuple[dict[str, dict], list[str]]:
    by_gvk = {}
    for name, definition in swagger["definitions"].items():
        for gvk in definition.get("x-kubernetes-group-version-kind", []):
            api_version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
            by_gvk[(api_version, gvk["kind"])] = name
    files, roots = {}, []
    for api_version, kind in KINDS:
        name = by_gvk[(api_version, kind)]
        roots.append(name)
        files[file_name(api_version, kind)] = {
            "allOf": [{"$ref": f"{DEFINITIONS}#/definitions/{name}"},
                      identity(api_version, kind)]}
    return files, roots


def crd_schema(path: Path, version: str) -> tuple[str, dict]:
    crd = yaml.safe_load(path.read_text())
    api_version = f"{crd['spec']['group']}/{version}"
    kind = crd["spec"]["names"]["kind"]
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    schema = strict(served["schema"]["openAPIV3Schema"])
    # A custom resource's metadata is an ObjectMeta like any other object's.
    schema["properties"]["metadata"] = {"$ref": f"{DEFINITIONS}#/definitions/{OBJECT_META}"}
    return file_name(api_version, kind), {"allOf": [schema, identity(api_version, kind)]}


def main() -> None:
    kubernetes = module_dir(KUBERNETES)
    swagger = json.loads((kubernetes / "api/openapi-spec/swagger.json").read_text())
    files, roots = builtin_schemas(swagger)
    for module, crd_file, version in CRDS:
        name, schema = crd_schema(module_dir(module) / crd_file, version)
        files[name] = schema
    files[DEFINITIONS] = {"definitions": closure(swagger["definitions"], [*roots, OBJECT_META])}
    files["_sources.json"] = {"kubernetes": KUBERNETES, "crds": [f"{m}/{f}" for m, f, _ in CRDS],
                              "generated_by": "deploy/kubernetes/schemas/update.py"}
    for old in HERE.glob("*.json"):
        old.unlink()
    for name, schema in sorted(files.items()):
        (HERE / name).write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
        print(f"{name}: {(HERE / name).stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
