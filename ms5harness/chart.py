"""The MS5 Helm chart: render it, split it into the plan's numbered files, check permissions.

Pure functions; the CLI (`ms5harness manifests render`, `deploy`) is wired elsewhere.

- render(profile, set_values)   `helm template` of manifests/helm/ms5-dashboard -> list of objects
- write_numbered(profile, dir)  the plan's numbered files (01-namespace.yaml ... 41-alertmanager-config.yaml,
                                plus istio/), rendered from the AKS profile by default
- numbered_drift(profile, dir)  what differs between the checked-in files and a fresh render
- lint(profile)                 `helm lint` with the profile's values
- build_schema()                values.schema.json derived from values.yaml (strict: no unknown keys)
- missing_permissions(...)      which create/patch rights the deploying identity lacks

Helm errors (schema violations, template failures) surface as one-line HarnessErrors naming the key path.
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterable
from pathlib import Path

import yaml

from ms5harness import paths
from ms5harness.cluster import versions
from ms5harness.errors import HarnessError

CHART_DIR = paths.REPO_ROOT / "manifests" / "helm" / "ms5-dashboard"
K8S_DIR = paths.REPO_ROOT / "manifests" / "k8s"
PROFILES = ("local", "aks")
NUMBERED_PROFILE = "aks"  # the checked-in numbered files are what the platform team applies on AKS
RELEASE = "ms5"
KUBE_VERSION = versions.KUBERNETES.lstrip("v")
# Capabilities of the target cluster; helm template otherwise assumes only built-in APIs.
AKS_API_VERSIONS = ("secrets-store.csi.x-k8s.io/v1",)


def helm_binary() -> Path:
    from ms5harness.cluster.build import binary

    return binary("helm")


def values_files(profile: str) -> list[Path]:
    """values.yaml is always read by Helm; a profile adds its file on top ('default' adds none)."""
    if profile == "default":
        return []
    if profile not in PROFILES:
        raise HarnessError(f"unknown profile {profile!r}", f"choose one of {', '.join(PROFILES)}")
    return [CHART_DIR / f"values-{profile}.yaml"]


def image_registry(profile: str) -> str:
    """Where the profile's pods pull project images from (global.imageRegistry)."""
    registry = yaml.safe_load((CHART_DIR / "values.yaml").read_text())["global"]["imageRegistry"]
    for path in values_files(profile):
        registry = (yaml.safe_load(path.read_text()).get("global") or {}).get("imageRegistry", registry)
    return registry


def set_args(set_values: dict | None) -> list[str]:
    args: list[str] = []
    for key, value in (set_values or {}).items():
        args += ["--set-json", f"{key}={json.dumps(value)}"]
    return args


_SCHEMA_LINE = re.compile(r"^\s*-\s*(?:at\s+)?'?(?P<path>/[^':]*|)'?:?\s*(?P<msg>.+)$")


def helm_failure(stderr: str, action: str) -> HarnessError:
    """One line from Helm's stderr, with a JSON-pointer path turned into the values key path."""
    lines = [ln.rstrip() for ln in stderr.strip().splitlines() if ln.strip()]
    if any("don't meet the specifications of the schema" in ln for ln in lines):
        problems = []
        for ln in lines:
            m = _SCHEMA_LINE.match(ln)
            if not m or ln.lstrip().startswith("Error:"):
                continue
            key = m.group("path").strip("/").replace("/", ".")
            msg = m.group("msg").strip()
            extra = re.search(r"additional propert(?:y|ies) '?([^'\s]+)'? (?:is |are )?not allowed", msg)
            if extra:
                key = f"{key}.{extra.group(1)}" if key else extra.group(1)
                msg = "unknown key"
            elif msg == "'not' failed":
                msg = "value not allowed (an image tag must be an exact version, never 'latest')" if key.endswith("tag") else "value not allowed"
            problems.append(f"{key or '(top level)'}: {msg}")
        if problems:
            return HarnessError(
                f"values rejected by the chart schema: {'; '.join(problems)}",
                "fix the key in the values file or --set (see manifests/helm/ms5-dashboard/values.yaml)",
            )
    errors = [ln for ln in lines if ln.startswith("Error:")] or lines[-1:] or ["no output"]
    text = errors[0].removeprefix("Error:").strip()
    m = re.search(r'error calling (?:fail|required): (.+)$', text)
    if m:
        text = m.group(1)
    return HarnessError(f"helm {action} failed: {text}", "see the chart templates under manifests/helm/ms5-dashboard")


def template(
    profile: str,
    set_values: dict | None = None,
    *,
    release: str = RELEASE,
    values: Iterable[Path] = (),
    api_versions: Iterable[str] = (),
) -> str:
    """`helm template` of the chart with a profile's values; returns the YAML stream."""
    cmd = [str(helm_binary()), "template", release, str(CHART_DIR), "--kube-version", KUBE_VERSION]
    for f in [*values_files(profile), *values]:
        cmd += ["-f", str(f)]
    for api in api_versions:
        cmd += ["--api-versions", api]
    cmd += set_args(set_values)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise helm_failure(proc.stderr, "template")
    return proc.stdout


def render(profile: str, set_values: dict | None = None, **kwargs) -> list[dict]:
    """Every object the chart renders for a profile, in Helm's install order."""
    if profile == "aks":
        kwargs.setdefault("api_versions", AKS_API_VERSIONS)
    return [doc for doc in yaml.safe_load_all(template(profile, set_values, **kwargs)) if doc]


def lint(profile: str, set_values: dict | None = None) -> str:
    cmd = [str(helm_binary()), "lint", str(CHART_DIR), "--strict", "--kube-version", KUBE_VERSION]
    for f in values_files(profile):
        cmd += ["-f", str(f)]
    cmd += set_args(set_values)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise helm_failure(proc.stdout + proc.stderr, "lint")
    return proc.stdout


# --- the plan's numbered files ---------------------------------------------------------------

RBAC_KINDS = {"ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}
ISTIO_FILES = {
    "PeerAuthentication": "istio/peer-authentication.yaml",
    "DestinationRule": "istio/destination-rules.yaml",
    "VirtualService": "istio/virtual-services.yaml",
}


def _component(obj: dict) -> str:
    return obj.get("metadata", {}).get("labels", {}).get("app.kubernetes.io/component", "")


def _is(kind: str, *components: str) -> Callable[[dict], bool]:
    return lambda o: o["kind"] == kind and _component(o) in components


def _named(suffix: str) -> Callable[[dict], bool]:
    return lambda o: o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith(suffix)


# One consistent sequence. The plan numbers 14 twice (backend-hpa, celery-worker) and gives MinIO two
# numberings; here the TODO list's order wins (14 HPA, 15-17 Celery/Flower, 18-20 MinIO), 21-24 take
# what the plan left unnumbered (nginx, PodDisruptionBudgets), 25-28 are unused (the plan's second
# numbering of the monitoring stack), and 29-41 follow the plan.
NUMBERED: tuple[tuple[str, Callable[[dict], bool]], ...] = (
    ("01-namespace.yaml", lambda o: o["kind"] in {"Namespace", "ResourceQuota", "LimitRange", "StorageClass"}),
    ("02-configmap.yaml", _is("ConfigMap", "config")),
    ("03-secrets.yaml", lambda o: o["kind"] == "Secret"),
    ("04-keyvault-csi.yaml", lambda o: o["kind"] == "SecretProviderClass"),
    ("05-rbac.yaml", lambda o: o["kind"] in RBAC_KINDS),
    ("06-postgres-statefulset.yaml", _is("StatefulSet", "postgres")),
    ("07-postgres-services.yaml", _is("Service", "postgres")),
    ("08-postgres-config.yaml", lambda o: _is("ConfigMap", "postgres")(o) or _component(o) in {"postgres-backup", "migrations"}),
    ("09-redis-statefulset.yaml", _is("StatefulSet", "redis", "redis-sentinel")),
    ("10-redis-services.yaml", _is("Service", "redis", "redis-sentinel")),
    ("11-redis-config.yaml", _is("ConfigMap", "redis")),
    ("12-backend-deployment.yaml", _is("Deployment", "backend")),
    ("13-backend-services.yaml", _is("Service", "backend")),
    ("14-backend-hpa.yaml", lambda o: o["kind"] == "HorizontalPodAutoscaler"),
    ("15-celery-worker-deployment.yaml", lambda o: _component(o) == "celery-worker" and o["kind"] in {"Deployment", "Service"}),
    ("16-celery-beat-deployment.yaml", _is("Deployment", "celery-beat")),
    ("17-flower-deployment.yaml", lambda o: _component(o) == "flower" and o["kind"] in {"Deployment", "Service"}),
    ("18-minio-statefulset.yaml", _is("StatefulSet", "minio")),
    ("19-minio-services.yaml", _is("Service", "minio")),
    ("20-minio-config.yaml", lambda o: _component(o) == "minio-setup" and o["kind"] in {"ConfigMap", "Job"}),
    ("21-nginx-deployment.yaml", _is("Deployment", "nginx")),
    ("22-nginx-services.yaml", _is("Service", "nginx")),
    ("23-nginx-config.yaml", _is("ConfigMap", "nginx")),
    ("24-pod-disruption-budgets.yaml", lambda o: o["kind"] == "PodDisruptionBudget"),
    ("29-network-policies.yaml", lambda o: o["kind"] == "NetworkPolicy"),
    ("30-sli-definitions.yaml", _named("-rules-sli")),
    ("31-slo-configuration.yaml", _named("-rules-slo")),
    ("32-cost-monitoring.yaml", _named("-rules-cost")),
    ("33-prometheus-statefulset.yaml", _is("StatefulSet", "prometheus")),
    ("34-prometheus-services.yaml", _is("Service", "prometheus")),
    ("35-prometheus-config.yaml", _is("ConfigMap", "prometheus")),
    ("36-grafana-statefulset.yaml", _is("StatefulSet", "grafana")),
    ("37-grafana-services.yaml", _is("Service", "grafana")),
    ("38-grafana-config.yaml", _is("ConfigMap", "grafana")),
    ("39-alertmanager-deployment.yaml", lambda o: _is("StatefulSet", "alertmanager")(o) or _is("Deployment", "alert-webhook")(o)),
    ("40-alertmanager-services.yaml", _is("Service", "alertmanager", "alert-webhook")),
    ("41-alertmanager-config.yaml", _is("ConfigMap", "alertmanager")),
)


def numbered_file(obj: dict) -> str:
    """Relative path (under manifests/k8s/) of the file an object belongs to."""
    if obj["kind"] in ISTIO_FILES:
        return ISTIO_FILES[obj["kind"]]
    for name, belongs in NUMBERED:
        if belongs(obj):
            return name
    raise HarnessError(
        f"no numbered file for {obj['kind']} {obj['metadata']['name']}",
        "add a rule to ms5harness.chart.NUMBERED",
    )


def _header(profile: str, name: str, count: int) -> str:
    lines = [
        f"# {name}: rendered from manifests/helm/ms5-dashboard with values-{profile}.yaml.",
        "# Do not edit: change the chart and re-render (ms5harness.chart.write_numbered); tests/static fail on drift.",
    ]
    if name.startswith("istio/"):
        lines.append("# Rendered with istio.enabled=true (the chart's default is off).")
    if count == 0 and name == "03-secrets.yaml":
        lines.append("# No Secret objects: credentials are generated at deploy time (secrets.provider=generate)")
        lines.append("# or synced from Azure Key Vault by the SecretProviderClass in 04-keyvault-csi.yaml.")
    elif count == 0:
        lines.append("# No objects in this profile.")
    return "\n".join(lines) + "\n"


def numbered_documents(profile: str = NUMBERED_PROFILE) -> dict[str, str]:
    """File name -> file text, for every numbered file and istio/ file."""
    files: dict[str, list[dict]] = {name: [] for name, _ in NUMBERED}
    for obj in render(profile):
        files[numbered_file(obj)].append(obj)
    for obj in render(profile, {"istio.enabled": True}):
        if obj["kind"] in ISTIO_FILES:
            files.setdefault(ISTIO_FILES[obj["kind"]], []).append(obj)
    out = {}
    for name, objs in files.items():
        body = "".join("---\n" + yaml.safe_dump(o, sort_keys=False, width=120) for o in objs)
        out[name] = _header(profile, name, len(objs)) + body
    return out


def _existing(out_dir: Path) -> set[str]:
    found = {p.name for p in out_dir.glob("[0-9][0-9]-*.yaml")}
    found |= {f"istio/{p.name}" for p in (out_dir / "istio").glob("*.yaml")}
    return found


def write_numbered(profile: str = NUMBERED_PROFILE, out_dir: Path = K8S_DIR) -> list[Path]:
    """Render the chart into the plan's numbered files (stale numbered files are removed)."""
    docs = numbered_documents(profile)
    (out_dir / "istio").mkdir(parents=True, exist_ok=True)
    for stale in _existing(out_dir) - set(docs):
        (out_dir / stale).unlink()
    written = []
    for name, text in docs.items():
        path = out_dir / name
        path.write_text(text)
        written.append(path)
    return written


def numbered_drift(profile: str = NUMBERED_PROFILE, out_dir: Path = K8S_DIR) -> list[str]:
    """Files that differ from a fresh render (empty list: in sync)."""
    docs = numbered_documents(profile)
    drift = [f"{name}: not rendered by the chart (stale)" for name in sorted(_existing(out_dir) - set(docs))]
    for name, text in docs.items():
        path = out_dir / name
        if not path.exists():
            drift.append(f"{name}: missing")
        elif path.read_text() != text:
            drift.append(f"{name}: differs from the chart")
    return drift


# --- values.schema.json -----------------------------------------------------------------------

QUANTITY = {"type": ["string", "number"], "pattern": r"^[0-9.]+([eE][0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$"}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
NODE_PORT = {"type": "integer", "anyOf": [{"const": 0}, {"minimum": 30000, "maximum": 32767}]}
RESOURCES = {
    "type": "object",
    "additionalProperties": False,
    "required": ["requests", "limits"],
    "properties": {
        side: {
            "type": "object",
            "additionalProperties": False,
            "required": ["cpu", "memory"],
            "properties": {"cpu": QUANTITY, "memory": QUANTITY},
        }
        for side in ("requests", "limits")
    },
}
PROBE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        k: {"type": "integer", "minimum": 0 if k == "initialDelaySeconds" else 1}
        for k in ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "failureThreshold", "successThreshold")
    },
}
IMAGE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["repository", "tag"],
    "properties": {
        "registry": {"type": "string"},
        "repository": {"type": "string", "pattern": r"^[a-z0-9]+([._/-][a-z0-9]+)*$"},
        "tag": {
            "type": ["string", "integer"],
            "pattern": r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
            "not": {"const": "latest"},
        },
        "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
    },
}
TOLERATIONS = {
    "type": "array",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "key": {"type": "string"},
            "operator": {"enum": ["Exists", "Equal"]},
            "value": {"type": "string"},
            "effect": {"enum": ["NoSchedule", "PreferNoSchedule", "NoExecute"]},
            "tolerationSeconds": {"type": "integer"},
        },
    },
}
NODE_POOL = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"nodeSelector": STRING_MAP, "tolerations": TOLERATIONS},
}
COST_POOL = {
    "type": "object",
    "additionalProperties": False,
    "required": ["vmSize", "hourlyPrice", "vcpu", "memoryGiB"],
    "properties": {
        "vmSize": {"type": "string"},
        "hourlyPrice": {"type": "number", "minimum": 0},
        "vcpu": {"type": "number", "exclusiveMinimum": 0},
        "memoryGiB": {"type": "number", "exclusiveMinimum": 0},
    },
}
RATIO = {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}
SERVICE_TYPE = {"enum": ["ClusterIP", "NodePort", "LoadBalancer"]}
POD_SECURITY_LEVEL = {"enum": ["restricted", "baseline", "privileged"]}

# Paths (fnmatch over dotted keys) whose schema is not inferred from the default value.
SCHEMA_OVERRIDES: dict[str, dict] = {
    "global.imagePullSecrets": {"type": "array", "items": {"type": "string"}},
    "global.profile": {"type": "string", "pattern": r"^[a-z0-9-]+$"},
    "namespace.name": {"type": "string", "pattern": r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$"},
    "namespace.labels": STRING_MAP,
    "namespace.podSecurity.enforce": POD_SECURITY_LEVEL,
    "namespace.resourceQuota.hard": {"type": "object", "additionalProperties": QUANTITY},
    "namespace.limitRange.default": {"type": "object", "additionalProperties": False, "properties": {"cpu": QUANTITY, "memory": QUANTITY}},
    "namespace.limitRange.defaultRequest": {"type": "object", "additionalProperties": False, "properties": {"cpu": QUANTITY, "memory": QUANTITY}},
    "namespace.limitRange.max": {"type": "object", "additionalProperties": False, "properties": {"cpu": QUANTITY, "memory": QUANTITY}},
    "images.*": IMAGE,
    "persistence.accessMode": {"enum": ["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany"]},
    "storageClass.reclaimPolicy": {"enum": ["Delete", "Retain"]},
    "storageClass.volumeBindingMode": {"enum": ["WaitForFirstConsumer", "Immediate"]},
    "storageClass.parameters": STRING_MAP,
    "nodePools": {"type": "object", "additionalProperties": NODE_POOL},
    "secrets.provider": {"enum": ["generate", "keyvault"]},
    "secrets.length": {"type": "integer", "minimum": 16, "maximum": 128},
    "secrets.values": "SECRET_KEYS",
    "secrets.keyVault.objects": "SECRET_KEYS",
    "config.extraEnv": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
    "config.logLevel": {"enum": ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]},
    "config.algorithm": {"enum": ["HS256", "HS384", "HS512"]},
    "*.resources": RESOURCES,
    "*.probes.*": PROBE,
    "*.nodePool": {"type": "string", "minLength": 1},
    "*.replicas": {"type": "integer", "minimum": 1},
    "postgres.replicas": {"type": "integer", "minimum": 1, "maximum": 9},
    "postgres.parameters": {"type": "object", "additionalProperties": {"type": ["string", "number"]}},
    "postgres.username": {"type": "string", "pattern": r"^[a-z_][a-z0-9_]{0,62}$"},
    "postgres.database": {"type": "string", "pattern": r"^[a-z_][a-z0-9_]{0,62}$"},
    "postgres.backup.schedule": {"type": "string", "minLength": 9},
    "postgres.backup.scratchSizeLimit": QUANTITY,
    "redis.maxmemory": {"type": "string", "pattern": r"^[0-9]+(kb|mb|gb)?$"},
    "redis.appendfsync": {"enum": ["always", "everysec", "no"]},
    "redis.sentinel.replicas": {"type": "integer", "minimum": 1},
    "*.autoscaling.requestsPerSecondTarget": QUANTITY,
    "*.autoscaling.queueLengthTarget": QUANTITY,
    "*.autoscaling.*Percentage": {"type": "integer", "minimum": 1, "maximum": 100},
    "backend.canary.tag": {"type": ["string", "integer"]},
    "celeryWorker.metricsPort": {"type": "integer", "minimum": 1024, "maximum": 65535},
    "nginx.clientMaxBodySize": {"type": "string", "pattern": r"^[0-9]+[kmg]?$"},
    "*.service.type": SERVICE_TYPE,
    "*.service.nodePort": NODE_PORT,
    "*.service.annotations": STRING_MAP,
    "nginx.service.externalTrafficPolicy": {"enum": ["Cluster", "Local"]},
    "minio.implementation": {"enum": ["minio", "s3"]},
    "alertmanager.receivers.*": {"type": "string", "pattern": r"^(https?://.+)?$"},
    "slo.*Target": RATIO,
    "slo.latencyThresholdSeconds": {"type": "number", "exclusiveMinimum": 0},
    "slo.dbQueryP95Seconds": {"type": "number", "exclusiveMinimum": 0},
    "cost.monthlyBudget": {"type": "number", "minimum": 0},
    "cost.cpuShare": RATIO,
    "cost.pools": {"type": "object", "additionalProperties": COST_POOL},
    "networkPolicy.dns.podLabels": STRING_MAP,
    "networkPolicy.*.cidrs": {"type": "array", "items": {"type": "string", "pattern": r"^[0-9a-fA-F.:]+/[0-9]{1,3}$"}},
    "networkPolicy.externalCidrs": {"type": "array", "items": {"type": "string", "pattern": r"^[0-9a-fA-F.:]+/[0-9]{1,3}$"}},
    "networkPolicy.*.ports": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 65535}},
    "istio.mtlsMode": {"enum": ["STRICT", "PERMISSIVE", "DISABLE"]},
    "istio.canary.weight": {"type": "integer", "minimum": 0, "maximum": 100},
}
SECRET_KEYS = (
    "SECRET_KEY", "ADMIN_PASSWORD", "POSTGRES_PASSWORD", "POSTGRES_SUPERUSER_PASSWORD",
    "POSTGRES_REPLICATION_PASSWORD", "POSTGRES_REWIND_PASSWORD", "POSTGRES_MONITOR_PASSWORD", "REDIS_PASSWORD",
    "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY", "FLOWER_BASIC_AUTH", "GRAFANA_ADMIN_PASSWORD",
)  # fmt: skip


def _override(path: str) -> dict | None:
    best = None
    for pattern, schema in SCHEMA_OVERRIDES.items():
        if fnmatch.fnmatchcase(path, pattern):
            # the most specific (longest, fewest wildcards) pattern wins
            rank = (pattern.count("*") == 0, len(pattern))
            if best is None or rank > best[0]:
                best = (rank, schema)
    if best is None:
        return None
    schema = best[1]
    if schema == "SECRET_KEYS":
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": {k: {"type": "string", "minLength": 1} for k in SECRET_KEYS},
        }
    return schema


def _infer(value, path: str) -> dict:
    override = _override(path)
    if override is not None:
        return override
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, list):
        return {"type": "array", "items": _infer(value[0], path + "[]") if value else {}}
    if isinstance(value, dict):
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": {k: _infer(v, f"{path}.{k}" if path else k) for k, v in value.items()},
        }
    raise HarnessError(f"values.yaml key {path} has no default to infer a schema from", "give it a default")


def build_schema(values_path: Path = CHART_DIR / "values.yaml") -> dict:
    """Strict JSON schema of the chart's values: every key of values.yaml, nothing else."""
    values = yaml.safe_load(values_path.read_text())
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "title": "ms5-dashboard values"}
    schema.update(_infer(values, ""))
    return schema


def schema_text() -> str:
    return json.dumps(build_schema(), indent=2) + "\n"


def write_schema() -> Path:
    path = CHART_DIR / "values.schema.json"
    path.write_text(schema_text())
    return path


# --- permissions ------------------------------------------------------------------------------

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "StorageClass"}


def _resource(obj: dict) -> str:
    """kubectl auth can-i resource name for an object, e.g. deployments.apps."""
    kind = obj["kind"]
    plural = {
        "NetworkPolicy": "networkpolicies",
        "PodDisruptionBudget": "poddisruptionbudgets",
        "StorageClass": "storageclasses",
        "SecretProviderClass": "secretproviderclasses",
    }.get(kind, kind.lower() + "s")
    group = obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else ""
    return f"{plural}.{group}" if group else plural


def required_permissions(objects: Iterable[dict]) -> list[tuple[str, str, str]]:
    """(verb, resource, namespace or '') the deployer needs to install or upgrade these objects."""
    needed: set[tuple[str, str, str]] = set()
    for obj in objects:
        ns = "" if obj["kind"] in CLUSTER_SCOPED else obj["metadata"].get("namespace", "")
        for verb in ("create", "patch", "delete"):
            needed.add((verb, _resource(obj), ns))
    # Helm keeps its release records in Secrets of the release namespace; the chart's lookup reads them.
    return sorted(needed)


def missing_permissions(
    objects: Iterable[dict], kubeconfig: Path, release_namespace: str = "default"
) -> list[str]:
    """Which rights the kubeconfig's identity lacks, as 'verb resource [-n ns]' strings."""
    from ms5harness.cluster.build import binary

    kubectl = str(binary("kubectl"))
    needed = required_permissions(objects)
    needed += [(v, "secrets", release_namespace) for v in ("list", "create", "patch", "delete")]
    def allowed(item: tuple[str, str, str]) -> bool:
        verb, resource, ns = item
        cmd = [kubectl, "--kubeconfig", str(kubeconfig), "auth", "can-i", verb, resource]
        cmd += ["-n", ns] if ns else []
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip() == "yes"

    items = sorted(set(needed))
    with ThreadPoolExecutor(max_workers=4) as pool:
        verdicts = list(pool.map(allowed, items))
    return [f"{v} {r}" + (f" -n {ns}" if ns else "") for (v, r, ns), ok in zip(items, verdicts) if not ok]


def check_permissions(objects: list[dict], kubeconfig: Path, release_namespace: str = "default") -> None:
    """Raise one line naming every missing right before a deploy starts."""
    missing = missing_permissions(objects, kubeconfig, release_namespace)
    if missing:
        shown = ", ".join(missing[:12]) + (f" and {len(missing) - 12} more" if len(missing) > 12 else "")
        raise HarnessError(
            f"the deploying identity lacks {len(missing)} permission(s): {shown}",
            "deploy with a cluster-admin kubeconfig or bind a role granting them",
        )


def scratch_values(data: dict) -> Path:
    """A temporary values file (for tests and callers that build values in code)."""
    fh = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    with fh:
        yaml.safe_dump(data, fh)
    return Path(fh.name)


# --- server-side validation -------------------------------------------------------------------

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}


def pod_templates(objects: Iterable[dict]) -> list[tuple[dict, dict]]:
    """(owner object, pod template) for every workload, CronJobs included."""
    out = []
    for obj in objects:
        spec = obj.get("spec", {})
        if obj["kind"] in WORKLOAD_KINDS:
            out.append((obj, spec["template"]))
        elif obj["kind"] == "CronJob":
            out.append((obj, spec["jobTemplate"]["spec"]["template"]))
    return out


def _kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    from ms5harness.cluster.build import binary

    cmd = [str(binary("kubectl")), "--kubeconfig", str(kubeconfig), *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=300)


def _stream(objects: Iterable[dict]) -> str:
    return "".join("---\n" + yaml.safe_dump(o, sort_keys=False) for o in objects)


def server_dry_run(objects: list[dict], kubeconfig: Path, crds: Iterable[Path] = ()) -> list[str]:
    """Validate rendered objects against a real API server; returns the problems found.

    The Namespace (with its Pod Security labels) and the ServiceAccounts are created for real, since
    namespaced dry-runs and pod admission need them; everything else is a server-side dry-run, and
    every pod template is also submitted as a Pod so the namespace's PodSecurity admission judges it.
    The namespace is deleted afterwards. CRDs given (validation-only schemas) are applied first.
    """
    problems: list[str] = []
    for crd in crds:
        proc = _kubectl(kubeconfig, "apply", "-f", str(crd))
        if proc.returncode != 0:
            return [f"installing validation CRDs from {crd.name}: {proc.stderr.strip()}"]
    if crds:
        _kubectl(kubeconfig, "wait", "--for=condition=Established", "--timeout=60s", "crd", "-l",
                 "app.kubernetes.io/part-of=ms5-harness-validation")
    namespaces = [o for o in objects if o["kind"] == "Namespace"]
    real = namespaces + [o for o in objects if o["kind"] == "ServiceAccount"]
    rest = [o for o in objects if o not in real]
    try:
        for batch in (namespaces, real[len(namespaces):]):
            if batch:
                proc = _kubectl(kubeconfig, "apply", "-f", "-", stdin=_stream(batch))
                if proc.returncode != 0:
                    return [f"creating {batch[0]['kind']}: {proc.stderr.strip()}"]
        proc = _kubectl(kubeconfig, "apply", "--dry-run=server", "-f", "-", stdin=_stream(rest))
        problems += [ln for ln in proc.stderr.splitlines() if ln.strip()]
        pods = []
        for owner, tpl in pod_templates(rest):
            spec = dict(tpl["spec"])
            claims = owner.get("spec", {}).get("volumeClaimTemplates", [])
            if claims:  # what the StatefulSet controller adds to each pod
                spec["volumes"] = list(spec.get("volumes", [])) + [
                    {"name": c["metadata"]["name"],
                     "persistentVolumeClaim": {"claimName": f"{c['metadata']['name']}-{owner['metadata']['name']}-0"}}
                    for c in claims
                ]
            if owner["kind"] in {"Deployment", "StatefulSet"}:
                spec["restartPolicy"] = "Always"
            pods.append({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"dryrun-{owner['kind'].lower()}-{owner['metadata']['name']}"[:63],
                    "namespace": owner["metadata"]["namespace"],
                    "labels": tpl["metadata"].get("labels", {}),
                },
                "spec": spec,
            })
        if pods:
            proc = _kubectl(kubeconfig, "create", "--dry-run=server", "-f", "-", stdin=_stream(pods))
            problems += [f"pod admission: {ln}" for ln in proc.stderr.splitlines() if ln.strip()]
    finally:
        for ns in namespaces:
            _kubectl(kubeconfig, "delete", "namespace", ns["metadata"]["name"], "--wait=false", "--ignore-not-found")
    return problems
