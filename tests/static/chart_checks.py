"""Helpers of the chart's static tests: pod templates of the rendered workloads, values files built in
code, host promtool/amtool and rendered ConfigMaps, and the server-side dry run of a render against a real API server."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pytest
import yaml

from ms5harness import chart, tools

DRY_RUN_SECONDS = 300  # one kubectl apply/create --dry-run=server of the whole chart

def tool(name: str) -> str:
    """promtool or amtool from the host (or $PROMTOOL / $AMTOOL); a skip that names the package otherwise."""
    found = os.environ.get(name.upper()) or shutil.which(name)
    if not found:
        pytest.skip(f"{name} not installed (Debian package {'prometheus' if name == 'promtool' else 'prometheus-alertmanager'}); "
                    "the live-Prometheus checks cover the same ground")
    return found


def rendered(profile: str, values: dict | None = None) -> list[dict]:
    """The profile rendered as deployed: its example deploy-time values (chart.example_values), then `values`."""
    return chart.render(profile, {**chart.example_values(profile), **(values or {})})


def configmap_data(profile: str) -> dict[str, str]:
    """'<ConfigMap name>/<key>' -> text, of a profile rendered with its example deploy-time values."""
    out = {}
    for o in rendered(profile):
        if o["kind"] == "ConfigMap":
            for key, text in o.get("data", {}).items():
                out[f"{o['metadata']['name']}/{key}"] = text
    return out


def scratch_values(data: dict) -> Path:
    """A temporary values file, for tests that build values in code."""
    fh = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    with fh:
        yaml.safe_dump(data, fh)
    return Path(fh.name)


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
    return tools.run("kubectl", kubeconfig, *args, stdin=stdin, check=False, seconds=DRY_RUN_SECONDS)


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
