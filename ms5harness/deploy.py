"""`deploy` / `undeploy`: install a chart profile onto the target cluster and prove it rolled out.

A deploy builds and loads the images (embedded cluster), provisions volumes
(embedded cluster), checks the deploying identity's permissions, then runs
`helm upgrade --install` and waits for every Deployment, StatefulSet and Job. A
deploy whose server-side render equals the installed release is a no-op. A
rollout that fails names the workload and the reason from its pods and events.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import urllib3
import yaml
from kubernetes import client

from ms5harness import chart, tools
from ms5harness.cluster import volumes
from ms5harness.cluster.node_images import CHART_IMAGES
from ms5harness.errors import HarnessError
from ms5harness.images import builder
from ms5harness.images.catalog import project_images
from ms5harness.target import Target, machine_lock
from ms5harness.kube.objects import selector_text
from ms5harness.kube.waits import poll, port_number

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")
ROLLOUT_SECONDS = 900  # every workload ready: a cold local profile takes about 190 s, AKS pulls images first
UNDEPLOY_SECONDS = 300  # helm uninstall --wait, then the namespace's finalizers
POLL_SECONDS = 2  # between looks at the rollouts (and at a namespace being deleted)
DIAGNOSE_EVERY_SECONDS = 10  # how often a pending workload is checked for a reason it can never start
READINESS_ANSWER_SECONDS = 5  # asking a not-ready pod's readiness endpoint why, through the API server
STUCK_REASONS = {"ErrImageNeverPull", "ErrImagePull", "ImagePullBackOff", "InvalidImageName",
                 "CreateContainerConfigError"}


@dataclass
class Workload:
    kind: str
    name: str
    desired: int
    ready: int = 0
    ready_after: float | None = None

    @property
    def label(self) -> str:
        return f"{self.kind.lower()}/{self.name}"


@dataclass
class DeployResult:
    changed: bool
    seconds: float
    workloads: list[Workload] = field(default_factory=list)

    def table(self) -> list[dict]:
        return [{"workload": w.label, "ready": f"{w.ready}/{w.desired}",
                 "ready after": "-" if w.ready_after is None else f"{w.ready_after:.0f}s"} for w in self.workloads]


def image_values(target: Target, echo) -> dict:
    """Every project image the chart knows, by content tag (binary images by their binary's version).
    The embedded node gets them built and imported here; any other cluster pulls them from its
    registry (pushed as docs/aks.md shows)."""
    keys = set(yaml.safe_load((chart.CHART_DIR / "values.yaml").read_text()).get("images", {}))
    wanted = [img for img in (*project_images(), *CHART_IMAGES) if img.key in keys]
    if target.embedded is not None:
        with machine_lock():
            for img in wanted:
                target.embedded.load_image(img.ref, builder.build(img, echo=echo))
    return {f"images.{img.key}.tag": img.tag for img in wanted}


def release_manifest(target: Target, namespace: str) -> str | None:
    got = chart.helm(target.kubeconfig, "get", "manifest", chart.RELEASE, "-n", namespace, check=False)
    if got.returncode != 0:
        return None
    hooks = chart.helm(target.kubeconfig, "get", "hooks", chart.RELEASE, "-n", namespace, check=False)
    return got.stdout + hooks.stdout


def upgrade_args(profile: str, namespace: str, set_values: dict) -> list[str]:
    args = ["upgrade", "--install", chart.RELEASE, str(chart.CHART_DIR), "-n", namespace]
    for f in chart.values_files(profile):
        args += ["-f", str(f)]
    return args + chart.set_args(set_values)


def planned_manifest(target: Target, profile: str, namespace: str, set_values: dict) -> str:
    """The server-side dry run renders with lookups against the cluster (existing secrets kept)."""
    out = chart.helm(target.kubeconfig, *upgrade_args(profile, namespace, set_values), "--dry-run=server", "-o", "json")
    release = json.loads(out.stdout)
    return release.get("manifest", "") + "".join(
        f"---\n# Source: {h['path']}\n{h['manifest']}\n" for h in release.get("hooks", []))


def documents(manifest: str) -> list[dict]:
    """The objects of a manifest stream, in a stable order: formatting differences do not count."""
    docs = chart.parse_stream(manifest)
    return sorted(docs, key=lambda d: (d.get("kind", ""), d.get("metadata", {}).get("name", "")))


def ensure_namespace(target: Target, objects: list[dict], namespace: str) -> None:
    """Helm keeps its release record in the namespace, so the chart's Namespace must exist first."""
    ns_obj = next((o for o in objects if o["kind"] == "Namespace" and o["metadata"]["name"] == namespace), None)
    if ns_obj is None:
        return
    meta = ns_obj["metadata"]
    meta.setdefault("labels", {})["app.kubernetes.io/managed-by"] = "Helm"
    meta.setdefault("annotations", {}).update(
        {"meta.helm.sh/release-name": chart.RELEASE, "meta.helm.sh/release-namespace": namespace})
    try:
        target.kube.core.create_namespace(ns_obj)
    except client.ApiException as err:
        if err.status != 409:
            raise


def workloads_of(objects: list[dict]) -> list[Workload]:
    found = []
    for obj in objects:
        if obj["kind"] in WORKLOAD_KINDS:
            desired = obj["spec"].get("replicas", 1) if obj["kind"] != "Job" else 1
            found.append(Workload(obj["kind"], obj["metadata"]["name"], desired))
    return found


def observe(target: Target, namespace: str, w: Workload) -> None:
    kube = target.kube
    if w.kind == "Deployment":
        d = kube.apps.read_namespaced_deployment(w.name, namespace)
        s = d.status
        w.desired = d.spec.replicas or 0
        rolled = (s.observed_generation or 0) >= d.metadata.generation and (s.updated_replicas or 0) == w.desired
        w.ready = (s.available_replicas or 0) if rolled and (s.replicas or 0) == w.desired else 0
    elif w.kind == "StatefulSet":
        st = kube.apps.read_namespaced_stateful_set(w.name, namespace)
        s = st.status
        w.desired = st.spec.replicas or 0
        rolled = (s.observed_generation or 0) >= st.metadata.generation and s.update_revision == s.current_revision
        w.ready = (s.ready_replicas or 0) if rolled else 0
    else:
        job = kube.batch.read_namespaced_job(w.name, namespace)
        if (job.status.failed or 0) >= (job.spec.backoff_limit or 0) + 1:
            raise HarnessError(f"job {w.name} failed: {why_not_ready(target, namespace, w)}",
                               f"kubectl -n {namespace} logs job/{w.name}")
        w.ready = 1 if (job.status.succeeded or 0) >= 1 else 0


def why_not_ready(target: Target, namespace: str, w: Workload) -> str:
    """The most telling reason: a stuck container state, else the newest warning event."""
    kube = target.kube
    selector = {"Deployment": lambda: kube.apps.read_namespaced_deployment(w.name, namespace).spec.selector,
                "StatefulSet": lambda: kube.apps.read_namespaced_stateful_set(w.name, namespace).spec.selector,
                "Job": lambda: kube.batch.read_namespaced_job(w.name, namespace).spec.selector}[w.kind]()
    pods = kube.core.list_namespaced_pod(namespace, label_selector=selector_text(selector)).items
    for pod in pods:
        for c in (pod.status.container_statuses or []) + (pod.status.init_container_statuses or []):
            waiting = c.state.waiting
            if waiting and waiting.reason not in (None, "ContainerCreating", "PodInitializing"):
                return f"pod {pod.metadata.name} container {c.name}: {waiting.reason}: {(waiting.message or '')[:200]}"
    names = {w.name} | {p.metadata.name for p in pods}
    events = [e for e in kube.core.list_namespaced_event(namespace).items
              if e.involved_object.name in names and e.type == "Warning"]
    if events:
        newest = max(events, key=lambda e: e.last_timestamp or e.event_time or e.metadata.creation_timestamp)
        why = f"{newest.involved_object.kind} {newest.involved_object.name}: {newest.reason}: {newest.message[:200]}"
        if newest.message.startswith("Readiness probe failed: HTTP"):
            why += "".join(readiness_answer(kube, p) for p in pods if p.metadata.name == newest.involved_object.name)
        return why
    return "no pod became ready and no warning event explains why" if pods else "no pod was created"


def readiness_answer(kube, pod: client.V1Pod) -> str:
    """What the pod's HTTP readiness endpoint answers now, through the API server's pod proxy:
    kubelet's event names only the status code; the body usually names the failing dependency."""
    for c in pod.spec.containers:
        get = c.readiness_probe.http_get if c.readiness_probe else None
        if get is None:
            continue
        try:
            body = kube.core.connect_get_namespaced_pod_proxy_with_path(
                f"{pod.metadata.name}:{port_number(pod, get.port)}", pod.metadata.namespace, get.path.lstrip("/"),
                _request_timeout=READINESS_ANSWER_SECONDS)
        except client.ApiException as err:
            body = err.body.decode(errors="replace") if isinstance(err.body, bytes) else err.body
        except (OSError, urllib3.exceptions.HTTPError) as err:
            body = f"(not reachable through the API server: {err})"
        return f"; {get.path} answers: {str(body)[:300]}"
    return ""


def wait_rollouts(target: Target, namespace: str, workloads: list[Workload], timeout: float, start: float) -> None:
    deadline = start + timeout
    pending = list(workloads)
    next_diagnosis = time.monotonic()
    while pending:
        for w in list(pending):
            observe(target, namespace, w)
            if w.ready >= w.desired:
                w.ready_after = time.monotonic() - start
                pending.remove(w)
            elif time.monotonic() >= next_diagnosis:
                reason = why_not_ready(target, namespace, w)  # lists pods and events: not on every poll
                if any(r in reason for r in STUCK_REASONS):
                    raise HarnessError(f"{w.label} cannot start: {reason}",
                                       "build and load the image (`ms5harness images load`) or fix the pod spec")
        if time.monotonic() >= next_diagnosis:
            next_diagnosis = time.monotonic() + DIAGNOSE_EVERY_SECONDS
        if pending and time.monotonic() > deadline:
            w = pending[0]
            others = f" (also not ready: {', '.join(p.label for p in pending[1:])})" if pending[1:] else ""
            raise HarnessError(f"{w.label} not ready after {timeout:.0f}s: {why_not_ready(target, namespace, w)}{others}",
                               f"kubectl -n {namespace} describe {w.label}")
        if pending:
            time.sleep(POLL_SECONDS)


def refuse_placeholders(profile: str, values: dict, echo) -> None:
    """The profile's example values (manifests/k8s carries them) never reach a cluster: one line each."""
    found = chart.placeholders(profile, values)
    for line in found:
        echo(f"refused: {line}")
    if found:
        raise HarnessError(f"{len(found)} placeholder value(s) in the {profile} profile, listed above",
                           "set each as its line says, in the values file or with --set")


def deploy(target: Target, profile: str, namespace: str, set_values: dict | None = None,
           timeout: float = ROLLOUT_SECONDS, echo=print) -> DeployResult:
    start = time.monotonic()
    values = {**image_values(target, echo), "namespace.name": namespace, **(set_values or {})}
    if target.embedded is not None:
        values.setdefault("persistence.storageClass", volumes.STORAGE_CLASS)
    refuse_placeholders(profile, values, echo)
    objects = chart.render(profile, values)
    chart.check_permissions(objects, target.kubeconfig, namespace)
    if target.embedded is not None:
        created = volumes.provision(target.kube, target.embedded.spec, volumes.claims_of(objects, namespace))
        if created:
            echo(f"provisioned {created} local volumes")
    ensure_namespace(target, objects, namespace)
    installed = release_manifest(target, namespace)
    changed = installed is None or documents(installed) != documents(planned_manifest(target, profile, namespace, values))
    if changed:
        echo(f"helm upgrade --install {chart.RELEASE} ({profile} profile) into namespace {namespace}")
        # Helm blocks on its hooks (migrations, bucket setup) until --timeout.
        chart.helm(target.kubeconfig, *upgrade_args(profile, namespace, values), "--timeout", f"{int(timeout)}s",
                   seconds=timeout + tools.EXIT_GRACE_SECONDS)
    else:
        echo("the installed release already matches: nothing to change")
    workloads = workloads_of(objects)
    wait_rollouts(target, namespace, workloads, timeout, start)
    return DeployResult(changed, time.monotonic() - start, workloads)


def release_revision(target: Target, namespace: str) -> int | None:
    """The release's current revision, from Helm's release records (Secrets labelled owner=helm); None
    when it is not installed."""
    records = target.kube.core.list_namespaced_secret(namespace, label_selector=f"owner=helm,name={chart.RELEASE}")
    versions = [int(s.metadata.labels["version"]) for s in records.items]
    return max(versions, default=None)


def wait_ready(target: Target, namespace: str, workloads: list[Workload], timeout: float = ROLLOUT_SECONDS) -> None:
    """Every workload of an earlier deploy ready again, without deploying: what a fault test needs
    between faults when the release itself has not changed. Fresh copies: waiting records each one's
    time to ready, which must not overwrite the deploy's own figures."""
    wait_rollouts(target, namespace, [Workload(w.kind, w.name, w.desired) for w in workloads], timeout, time.monotonic())


def undeploy(target: Target, namespace: str, timeout: float = UNDEPLOY_SECONDS, echo=print) -> None:
    if release_manifest(target, namespace) is not None:
        chart.helm(target.kubeconfig, "uninstall", chart.RELEASE, "-n", namespace, "--wait", "--timeout",
                   f"{int(timeout)}s", seconds=timeout + tools.EXIT_GRACE_SECONDS)
        echo(f"uninstalled release {chart.RELEASE} from {namespace}")
    try:
        target.kube.core.delete_namespace(namespace)
    except client.ApiException as err:
        if err.status != 404:
            raise
    def gone() -> bool:
        try:
            target.kube.core.read_namespace(namespace)
            return False
        except client.ApiException as err:
            return err.status == 404

    poll(f"namespace {namespace} deleted", gone, lambda ok: ok, timeout, POLL_SECONDS)
    if target.embedded is not None:
        volumes.release(target.kube, target.embedded.spec, namespace)
