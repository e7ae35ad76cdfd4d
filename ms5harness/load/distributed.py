"""`ms5harness load --workers N`: load from beyond one machine, Locust's master and N workers as
pods in the target cluster (what they are: ms5harness.load.pods), judged as the local run is.

A run removes what an earlier, killed run left (found by label), creates the policies, the
master's Service and the pods, waits (bounded, saying what it last saw) for every pod to run, for
the master to finish and for the workers to exit, keeps every pod's log in the run directory, and
removes everything it created whatever the outcome (Ctrl-C and SIGTERM included). The workers'
logs are merged into the same requests.csv the local run writes and judged by the same
ms5harness.load.judge; the master's own total must equal the merged count.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from kubernetes import client, utils

from ms5harness import names, objectives
from ms5harness.errors import HarnessError
from ms5harness.kube import waits
from ms5harness.kube.secrets import holding
from ms5harness.load import LoadResult, judge, ramp_seconds, read_samples
from ms5harness.load import pods as load_pods
from ms5harness.verify.stack import Stack, container_port

POD_START_SECONDS = 360  # every load pod running: pulled from the registry, on a node scaled up for it (AKS)
CONNECTED_SECONDS = 90  # from every pod running to the master starting the run: its workers connect in seconds
WORKERS_EXIT_SECONDS = 60  # the workers exit once their master has quit
DELETE_SECONDS = 60  # every load pod gone after the delete
MASTER_MARGIN_SECONDS = 30  # beyond the master's deadline, for its kubelet to end it and report
POLL_SECONDS = 2
LOG_SECONDS = 60  # reading one pod's log through the API server
CLUSTER_DOMAIN = "cluster.local"  # the embedded cluster's (ms5harness.cluster.spec) and AKS'
DEFAULT_NODE_POOL = "spot"  # the load beside, not on, the nodes of the system under test (AKS)
# A container waiting for one of these will not start by waiting longer.
HOPELESS = {"ErrImageNeverPull", "InvalidImageName", "ImagePullBackOff", "CreateContainerConfigError"}


def check_counts(workers: int, users: int) -> None:
    if workers < 1:
        raise HarnessError(f"--workers {workers}: a distributed run needs at least one worker",
                           "pass --workers 1 or more, or leave it out to run Locust on this machine")
    if users < workers:
        raise HarnessError(f"--users {users} is fewer than --workers {workers}: a worker would have no user",
                           "pass at least as many users as workers")


def placement(profile: str, pool: str) -> dict:
    """The nodeSelector and tolerations of one of the profile's node pools (the chart's nodePools)."""
    pools = objectives.chart_values(profile)["nodePools"]
    if pool not in pools:
        raise HarnessError(f"node pool {pool!r} is not one of the {profile} profile's ({', '.join(pools)})",
                           "pass --node-pool with one of them")
    return {key: pools[pool][key] for key in ("nodeSelector", "tolerations") if pools[pool].get(key)}


def selects(selector: client.V1LabelSelector | None, labels: dict) -> bool:
    """Whether a label selector (a policy's podSelector) matches a pod's labels."""
    if selector is None:
        return True
    if any(labels.get(key) != value for key, value in (selector.match_labels or {}).items()):
        return False
    for e in selector.match_expressions or []:
        value = labels.get(e.key)
        if not {"In": value in (e.values or []), "NotIn": e.key not in labels or value not in (e.values or []),
                "Exists": e.key in labels, "DoesNotExist": e.key not in labels}.get(e.operator, False):
            return False
    return True


def isolated_for_ingress(kube, namespace: str, labels: dict) -> bool:
    """Some NetworkPolicy (not one of a load run's) restricts the ingress of pods with these labels."""
    return any(selects(p.spec.pod_selector, labels) and "Ingress" in (p.spec.policy_types or ["Ingress"])
               for p in kube.networking.list_namespaced_network_policy(namespace).items
               if names.LOAD not in (p.metadata.labels or {}))


def entry_point(stack: Stack) -> load_pods.EntryPoint:
    """The nginx Service by its cluster DNS name; its pods and their port, as policies see them."""
    svc = stack.service("nginx")
    port, pod = svc.spec.ports[0], stack.pods("nginx")[0]
    return load_pods.EntryPoint(f"http://{svc.metadata.name}.{stack.namespace}.svc.{CLUSTER_DOMAIN}:{port.port}",
                                dict(svc.spec.selector), container_port(pod, port),
                                isolated_for_ingress(stack.kube, stack.namespace, pod.metadata.labels or {}))


def load_pods_now(kube, namespace: str) -> list[client.V1Pod]:
    return kube.core.list_namespaced_pod(namespace, label_selector=names.load_selector()).items


def pod_state(p: client.V1Pod) -> str:
    """What `kubectl get pod` shows, and why a pending pod is not scheduled."""
    unscheduled = [c.message for c in p.status.conditions or [] if c.type == "PodScheduled" and c.status == "False"]
    return f"{p.metadata.name}: {waits.pod_summary(p)}" + (f" ({unscheduled[0]})" if unscheduled else "")


def states(pods: list[client.V1Pod]) -> str:
    return "; ".join(pod_state(p) for p in pods) or "no load pod"


def remove(kube, namespace: str, timeout: float = DELETE_SECONDS) -> list[str]:
    """Delete every object labelled as the harness's load and wait until its pods are gone; what was deleted."""
    selector = names.load_selector()
    found = [(f"pod/{p.metadata.name}", p.metadata.name, kube.core.delete_namespaced_pod)
             for p in kube.core.list_namespaced_pod(namespace, label_selector=selector).items]
    found += [(f"service/{s.metadata.name}", s.metadata.name, kube.core.delete_namespaced_service)
              for s in kube.core.list_namespaced_service(namespace, label_selector=selector).items]
    found += [(f"networkpolicy/{n.metadata.name}", n.metadata.name, kube.networking.delete_namespaced_network_policy)
              for n in kube.networking.list_namespaced_network_policy(namespace, label_selector=selector).items]
    for _, name, delete in found:
        try:
            delete(name, namespace)
        except client.ApiException as err:
            if err.status != 404:
                raise HarnessError(f"cannot delete {name} in {namespace}: {err.status} {err.reason}",
                                   f"delete it: kubectl -n {namespace} delete pod,service,networkpolicy -l {selector}")
    try:
        waits.poll("every load pod deleted", lambda: load_pods_now(kube, namespace), lambda pods: not pods,
                   timeout, interval=1, summary=states)
    except waits.WaitTimeout as err:
        raise HarnessError(str(err), f"kubectl -n {namespace} delete pod -l {selector} --force") from None
    return [what for what, _, _ in found]


def _interrupt(signum, frame):
    raise KeyboardInterrupt


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM, like Ctrl-C, ends the run through its cleanup (signals reach the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """The cleanup runs to its end: a Ctrl-C or SIGTERM during it is raised once it is done."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {s: signal.signal(s, lambda signum, _frame: caught.append(signum)) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if caught:
        raise KeyboardInterrupt


class DistributedRun:
    def __init__(self, stack: Stack, out_dir: Path, workers: int, users: int = 10, spawn_rate: float = 5,
                 seconds: int = 60, image: str | None = None, node_pool: str = DEFAULT_NODE_POOL):
        check_counts(workers, users)
        self.stack, self.out_dir, self.workers, self.users = stack, out_dir, workers, users
        self.spawn_rate, self.seconds, self.image, self.node_pool = spawn_rate, seconds, image, node_pool

    @property
    def kube(self):
        return self.stack.kube

    @property
    def namespace(self) -> str:
        return self.stack.namespace

    @property
    def request_log(self) -> Path:
        return self.out_dir / "requests.csv"

    def plan(self) -> load_pods.Plan:
        """What to create, from the live stack: its entry point, the Secret of its password, its DNS."""
        secret = holding(self.kube, self.namespace, names.ADMIN_PASSWORD_KEY).metadata.name
        dns = objectives.chart_values(self.stack.profile)["networkPolicy"]["dns"]
        return load_pods.Plan(self.namespace, self.image or self.stack.project_image("locust"), self.workers,
                              self.users, self.spawn_rate, self.seconds, entry_point(self.stack), secret, dns,
                              placement(self.stack.profile, self.node_pool))

    def wait(self, what: str, probe: Callable, done: Callable, timeout: float, fix: str):
        try:
            return waits.poll(what, probe, done, timeout, POLL_SECONDS, summary=states)
        except waits.WaitTimeout as err:
            raise HarnessError(str(err), fix) from None

    def create(self, plan: load_pods.Plan) -> None:
        for obj in load_pods.manifests(plan):
            try:
                utils.create_from_dict(self.kube.api, obj, namespace=self.namespace)
            except utils.FailToCreateError as err:
                cause = err.api_exceptions[0]
                raise HarnessError(f"cannot create {obj['kind']} {obj['metadata']['name']} in {self.namespace}: "
                                   f"{cause.status} {cause.reason}",
                                   "the identity must be allowed to create pods, services and networkpolicies "
                                   "there, within the namespace's quota") from None

    def wait_started(self, plan: load_pods.Plan) -> None:
        expected = {names.LOAD_MASTER, *plan.worker_names()}

        def started(pods: list[client.V1Pod]) -> bool:
            for p in pods:
                waiting = {c.state.waiting.reason for c in p.status.container_statuses or [] if c.state.waiting}
                if p.status.phase == "Failed" or waiting & HOPELESS:
                    raise waits.WaitTimeout(f"load pod {pod_state(p)}")
            up = {p.metadata.name for p in pods if p.status.phase == "Succeeded" or (
                p.status.phase == "Running" and all(c.ready for c in p.status.container_statuses or []))}
            return up == expected

        self.wait(f"{len(expected)} load pods running", lambda: load_pods_now(self.kube, self.namespace), started,
                  POD_START_SECONDS, f"see the pods' logs in {self.out_dir} and the namespace's events")

    def pod_log(self, pod: str) -> str:
        response = self.kube.core.read_namespaced_pod_log(pod, self.namespace, container="main",
                                                          _preload_content=False, _request_timeout=LOG_SECONDS)
        return response.data.decode(errors="replace")  # raw: the client would parse a log that is JSON

    def wait_connected(self, plan: load_pods.Plan) -> None:
        """The master has its workers and starts the run (a policy or DNS that keeps them apart shows here,
        with the master's last line, not only when it gives up after load_pods.CONNECT_SECONDS)."""
        try:
            waits.poll(f"{plan.workers} workers connected to the Locust master", lambda: self.pod_log(names.LOAD_MASTER),
                       lambda log: load_pods.RUN_STARTED in log, CONNECTED_SECONDS, POLL_SECONDS,
                       summary=lambda log: (log.strip().splitlines() or ["an empty log"])[-1])
        except waits.WaitTimeout as err:
            raise HarnessError(str(err), f"the policies {names.load_object_name('*')} or DNS keep the workers from "
                                         f"{names.LOAD_MASTER}:{names.LOAD_MASTER_PORT}; see the logs in "
                                         f"{self.out_dir}") from None

    def wait_finished(self, plan: load_pods.Plan) -> None:
        """The master's run, stop and exit; then every worker's exit."""
        master = self.wait("the Locust master finished",
                           lambda: [self.kube.core.read_namespaced_pod(names.LOAD_MASTER, self.namespace)],
                           lambda pods: pods[0].status.phase in ("Succeeded", "Failed"),
                           plan.master_deadline + MASTER_MARGIN_SECONDS, f"see {self.log_path(names.LOAD_MASTER)}")[0]
        if master.status.phase != "Succeeded":
            raise HarnessError(f"the Locust master failed: {pod_state(master)}", f"see {self.log_path(names.LOAD_MASTER)}")
        workers = set(plan.worker_names())
        self.wait("every Locust worker exited", lambda: load_pods_now(self.kube, self.namespace),
                  lambda pods: all(p.status.phase in ("Succeeded", "Failed") for p in pods if p.metadata.name in workers),
                  WORKERS_EXIT_SECONDS, f"see the workers' logs in {self.out_dir}")

    def log_path(self, pod: str) -> Path:
        return self.out_dir / f"{pod}.log"

    def keep_logs(self, plan: load_pods.Plan) -> dict[str, str]:
        """Every load pod's log, written to the run directory (evidence whatever the outcome)."""
        logs = {}
        for pod in [names.LOAD_MASTER, *plan.worker_names()]:
            try:
                logs[pod] = self.pod_log(pod)
            except Exception as err:  # noqa: BLE001 (evidence is best effort: an unreadable log must not stop the cleanup)
                logs[pod] = ""
                self.log_path(pod).write_text(f"(no log: {err})\n")
                continue
            self.log_path(pod).write_text(logs[pod])
        return logs

    def run(self, echo=print) -> LoadResult:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        plan = self.plan()
        left = remove(self.kube, self.namespace)
        if left:
            echo(f"load: removed what an earlier load run left: {', '.join(left)}")
        finished = False
        try:
            with terminate_as_interrupt():
                self.create(plan)
                echo(f"load: {plan.users} users on {plan.workers} Locust workers in {self.namespace} for at most "
                     f"{plan.seconds}s against {plan.entry.url} ({plan.image})")
                self.wait_started(plan)
                self.wait_connected(plan)
                echo(f"load: {plan.workers} workers connected, the run started")
                self.wait_finished(plan)
            finished = True
        finally:
            with deferred_interrupts():
                try:
                    logs = self.keep_logs(plan)
                finally:
                    self.clean(finished, echo)
        return self.result(plan, logs)

    def clean(self, finished: bool, echo) -> None:
        """Remove everything; after a failure, a cleanup that fails too is said, and the first failure raised."""
        try:
            remove(self.kube, self.namespace)
        except HarnessError as err:
            if finished:
                raise
            echo(f"load: the cleanup failed too: {err.one_line()}")

    def result(self, plan: load_pods.Plan, logs: dict[str, str]) -> LoadResult:
        totals = load_pods.master_totals(logs[names.LOAD_MASTER])
        if totals is None:
            raise HarnessError("the Locust master printed no final statistics", f"see {self.log_path(names.LOAD_MASTER)}")
        lines = [line for pod in plan.worker_names() for line in load_pods.request_lines(logs[pod])]
        self.request_log.write_text("".join(f"{line}\n" for line in lines))
        samples = read_samples(self.request_log)
        if not samples:
            raise HarnessError("the load made no request", f"see the workers' logs in {self.out_dir}")
        start = min(s.started for s in samples) + ramp_seconds(plan.users, plan.spawn_rate)
        return judge(self.stack, samples, start, max(s.ended for s in samples), plan.users, self.out_dir,
                     workers=plan.workers, logged_requests=len(samples), master_requests=totals[0])


def run(stack: Stack, out_dir: Path, workers: int, users: int = 10, spawn_rate: float = 5, seconds: int = 60,
        image: str | None = None, node_pool: str = DEFAULT_NODE_POOL, echo=print) -> LoadResult:
    """Drive `users` floor users from `workers` Locust workers in the cluster for `seconds`, then judge the window."""
    return DistributedRun(stack, out_dir, workers, users, spawn_rate, seconds, image, node_pool).run(echo)
