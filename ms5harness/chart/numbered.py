"""The plan's numbered manifest files (manifests/k8s/01-namespace.yaml ... 41-alertmanager-config.yaml,
plus istio/), rendered from the chart: which object goes into which file, writing them, and drift."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from ms5harness.chart.rendering import example_values, render
from ms5harness.errors import HarnessError
from ms5harness.names import COMPONENT
from ms5harness.paths import K8S_DIR

NUMBERED_PROFILE = "aks"  # the checked-in numbered files are what the platform team applies on AKS

RBAC_KINDS = {"ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}
ISTIO_FILES = {
    "PeerAuthentication": "istio/peer-authentication.yaml",
    "DestinationRule": "istio/destination-rules.yaml",
    "VirtualService": "istio/virtual-services.yaml",
}


def _component(obj: dict) -> str:
    return obj.get("metadata", {}).get("labels", {}).get(COMPONENT, "")


def _is(kind: str, *components: str) -> Callable[[dict], bool]:
    return lambda o: o["kind"] == kind and _component(o) in components


def _named(suffix: str) -> Callable[[dict], bool]:
    return lambda o: o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith(suffix)


# One consistent sequence. The plan numbers 14 twice (backend-hpa, celery-worker) and gives MinIO two
# numberings; here the TODO list's order wins (14 HPA, 15-17 Celery/Flower, 18-20 MinIO), 21-24 take
# what the plan left unnumbered (nginx, PodDisruptionBudgets), 25 is the fault proxy of the test profile
# (faultProxy, off on AKS: the file is empty), 26 the backup monitor and its alerts, 27 the blackbox exporter
# (the entry-point probes), 28 is unused (the plan's second numbering of the monitoring stack), and 29-41
# follow the plan.
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
    ("25-fault-proxy.yaml", lambda o: _component(o) == "fault-proxy" and o["kind"] in {"Deployment", "Service", "ConfigMap"}),
    ("26-backup-monitoring.yaml", lambda o: _named("-rules-backup")(o)
     or (_component(o) == "backup-monitor" and o["kind"] in {"Deployment", "Service"})),
    ("27-blackbox-exporter.yaml", lambda o: _component(o) == "blackbox-exporter" and o["kind"] in {"Deployment", "Service", "ConfigMap"}),
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
        "add a rule to ms5harness.chart.numbered.NUMBERED",
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
    for obj in render(profile, example_values(profile)):
        files[numbered_file(obj)].append(obj)
    for obj in render(profile, {**example_values(profile), "istio.enabled": True}):
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
