"""What a distributed load run puts into the cluster, and how what it logged is read back: pure
functions, no cluster (ms5harness.load.distributed creates, waits and removes).

Locust's own distributed mode: one master pod that spreads the users over N worker pods and merges
their statistics, the workers reaching it through a Service on port 5557. The master starts the run
by itself once every worker is there (--autostart, --expect-workers), stops it after --run-time,
waits for the workers to stop, then for their last report (--autoquit), prints its statistics as
JSON and exits. Every worker prints each request it made as a line of its log, so the harness
judges exactly the requests the workers made, and the master's total is the cross-check.

Not --headless: a headless master quits at the end of --run-time without waiting for its workers'
last reports (Locust gives them half a second), so requests still in flight then are in the workers'
logs but not in its total. The web UI that --autostart brings listens on the pod's loopback only.

The policies: the workers may reach the entry point (the nginx pods, on their container port), the
master's port and DNS, nothing else; the master takes connections from the workers only and opens
none; the entry point takes the workers' connections besides the chart's own allowed sources (the
chart's nginx policy admits only its external addresses, never pod addresses).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ms5harness import names
from ms5harness.kube import objects
from ms5harness.load import EXIT_SECONDS, STOP_GRACE_SECONDS

LOCUST_STOP_SECONDS = 60  # Locust's master waits --stop-timeout plus this for its workers to stop
AUTOQUIT_SECONDS = 5  # after the stop, for every worker's last report (Locust reports every 3 s)
CONNECT_SECONDS = 360  # --expect-workers-max-wait: workers scheduled (a node scaled up), image pulled, connected
WORKER_EXIT_SECONDS = 60  # a worker outlives its master's deadline by this much: it exits when told to
MASTER_RESOURCES = {"requests": {"cpu": "50m", "memory": "96Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
WORKER_RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "384Mi"}}
PASSWORD_ENV = "MS5H_ADMIN_PASSWORD"  # the locustfile reads the admin password from here
RUN_STARTED = "Run time limit set to"  # the master's log line once every worker is there and the users spawn
LOG_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+\] ")  # one of Locust's own log lines


@dataclass(frozen=True)
class EntryPoint:
    """The stack's entry point as pods in the cluster reach it."""
    url: str  # the nginx Service's cluster DNS name and port
    pods: dict[str, str]  # the labels of its pods (the Service's selector)
    port: int  # the pods' port, which policies see (after Service translation)
    isolated: bool = True  # an ingress policy selects its pods: they take only what a policy allows


@dataclass(frozen=True)
class Plan:
    namespace: str
    image: str
    workers: int
    users: int
    spawn_rate: float
    seconds: int
    entry: EntryPoint
    password_secret: str  # the Secret holding the admin password (names.ADMIN_PASSWORD_KEY)
    dns: dict  # the chart's networkPolicy.dns: the DNS pods' namespace, labels and ports
    placement: dict = field(default_factory=dict)  # the chosen node pool's nodeSelector and tolerations

    @property
    def master_deadline(self) -> int:
        """The master pod's activeDeadlineSeconds: waiting for workers, the run, its stop and the exit."""
        return (CONNECT_SECONDS + self.seconds + STOP_GRACE_SECONDS + LOCUST_STOP_SECONDS + AUTOQUIT_SECONDS
                + EXIT_SECONDS)

    @property
    def worker_deadline(self) -> int:
        return self.master_deadline + WORKER_EXIT_SECONDS

    def worker_names(self) -> list[str]:
        return [names.load_object_name(f"worker-{index}") for index in range(self.workers)]


def tcp(port: int) -> dict:
    return {"protocol": "TCP", "port": port}


def pods_of(labels: dict, namespace: str | None = None) -> dict:
    """A policy peer: the pods with these labels (in `namespace`, else in the policy's own)."""
    peer: dict = {"podSelector": {"matchLabels": labels}}
    if namespace:
        peer["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
    return peer


def policies(plan: Plan) -> list[dict]:
    master, workers = names.load_labels("master"), names.load_labels("worker")
    dns = {"to": [pods_of(plan.dns["podLabels"], plan.dns["namespace"])],
           "ports": [{"protocol": proto, "port": port} for port in plan.dns["ports"] for proto in ("UDP", "TCP")]}
    labels = names.load_object_labels()
    found = [
        objects.network_policy(names.load_object_name("workers"), workers, ingress=[], labels=labels, egress=[
            {"to": [pods_of(plan.entry.pods)], "ports": [tcp(plan.entry.port)]},
            {"to": [pods_of(master)], "ports": [tcp(names.LOAD_MASTER_PORT)]},
            dns]),
        objects.network_policy(names.load_object_name("master"), master, egress=[], labels=labels, ingress=[
            {"from": [pods_of(workers)], "ports": [tcp(names.LOAD_MASTER_PORT)]}]),
    ]
    if plan.entry.isolated:  # else the entry point takes every source already, and a policy would narrow it
        found.append(objects.network_policy(names.load_object_name("entry"), plan.entry.pods, labels=labels, ingress=[
            {"from": [pods_of(workers)], "ports": [tcp(plan.entry.port)]}]))
    return found


def master_args(plan: Plan) -> list[str]:
    return ["--master", "--master-bind-port", str(names.LOAD_MASTER_PORT),
            "--autostart", "--autoquit", str(AUTOQUIT_SECONDS), "--web-host", "127.0.0.1",
            "--expect-workers", str(plan.workers), "--expect-workers-max-wait", str(CONNECT_SECONDS),
            "--users", str(plan.users), "--spawn-rate", f"{plan.spawn_rate:g}", "--run-time", f"{plan.seconds}s",
            "--stop-timeout", str(STOP_GRACE_SECONDS), "--host", plan.entry.url,
            "--only-summary", "--json", "--exit-code-on-error", "0"]


def worker_args() -> list[str]:
    return ["--worker", "--master-host", names.LOAD_MASTER, "--master-port", str(names.LOAD_MASTER_PORT),
            "--exit-code-on-error", "0"]


def pod(plan: Plan, name: str, role: str, args: list[str], resources: dict, deadline: int,
        env: list[dict] | None = None, port: int | None = None) -> dict:
    """A load pod: Pod Security `restricted` (non-root, read-only root filesystem), bounded by its
    deadline, never restarted, on the chosen node pool."""
    spec = objects.pod_spec(plan.image, port=port, port_name="locust", resources=resources)
    container = spec["containers"][0]
    container["args"] = args
    if env:
        container["env"] = env
    spec.update({"restartPolicy": "Never", "activeDeadlineSeconds": deadline, **plan.placement})
    # no service-mesh sidecar where the namespace injects one (the chart's istio profile): the pods stay as built
    return {"apiVersion": "v1", "kind": "Pod", "spec": spec,
            "metadata": {"name": name, "labels": names.load_labels(role),
                         "annotations": {"sidecar.istio.io/inject": "false"}}}


def master_pod(plan: Plan) -> dict:
    return pod(plan, names.LOAD_MASTER, "master", master_args(plan), MASTER_RESOURCES, plan.master_deadline,
               port=names.LOAD_MASTER_PORT)


def worker_pods(plan: Plan) -> list[dict]:
    env = [{"name": "MS5H_REQUEST_LOG", "value": names.REQUEST_LOG_STDOUT},
           {"name": PASSWORD_ENV, "valueFrom": {"secretKeyRef": {"name": plan.password_secret,
                                                                 "key": names.ADMIN_PASSWORD_KEY}}}]
    return [pod(plan, name, "worker", worker_args(), WORKER_RESOURCES, plan.worker_deadline, env=env)
            for name in plan.worker_names()]


def master_service() -> dict:
    return objects.service(names.LOAD_MASTER, names.load_labels("master"), names.LOAD_MASTER_PORT,
                           names.LOAD_MASTER_PORT, port_name="locust", labels=names.load_object_labels())


def manifests(plan: Plan) -> list[dict]:
    """Everything the run creates, in order: the policies before any pod, the master before its workers."""
    return [*policies(plan), master_service(), master_pod(plan), *worker_pods(plan)]


def request_lines(log: str) -> list[str]:
    """The request records in a worker's log (the locustfile's lines with names.REQUEST_LINE_PREFIX)."""
    prefix = names.REQUEST_LINE_PREFIX
    return [line[len(prefix):] for line in log.splitlines() if line.startswith(prefix)]


JSON_STARTS = tuple('[]{}"')


def master_totals(log: str) -> tuple[int, int] | None:
    """(requests, failures) in the master's final statistics: the JSON list of entries Locust's --json
    prints at exit, one entry per request name, found in its log among its other lines; None without it."""
    lines = log.splitlines()
    starts = [i for i, line in enumerate(lines) if line.rstrip() in ("[", "[]")]
    if not starts:
        return None
    block: list[str] = []
    for line in lines[starts[-1]:]:
        # The pod's log interleaves stdout (the JSON) with stderr (log lines, the statistics table) line by
        # line: a line of the indented JSON starts with a bracket, a brace or a quote, and is no log line.
        if line.strip()[:1] in JSON_STARTS and not LOG_LINE.match(line):
            block.append(line)
        if line.rstrip() in ("]", "[]"):
            break
    try:
        entries = json.loads("\n".join(block))
    except json.JSONDecodeError:
        return None
    return sum(e["num_requests"] for e in entries), sum(e["num_failures"] for e in entries)
