"""`ms5harness load --workers N` without a cluster: the pods and policies it would create, reading
back what the workers and the master logged, the cleanup whatever the outcome, the CLI's checks,
the load image; and Locust's own master and two workers on loopback, run with the pods' arguments,
whose merged request logs must hold exactly the master's total."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from kubernetes import client

from ms5harness import cli, names, paths
from ms5harness.errors import HarnessError
from ms5harness.images import builder, catalog
from ms5harness.load import LoadResult, distributed, read_samples
from ms5harness.load import pods as load_pods

ENTRY = load_pods.EntryPoint("http://ms5-nginx.ms5.svc.cluster.local:80",
                             {"app.kubernetes.io/component": "nginx", "app.kubernetes.io/instance": "ms5"}, 8080)
DNS = {"namespace": "kube-system", "podLabels": {"k8s-app": "coredns"}, "ports": [1053]}
WORKERS, MASTER = names.load_labels("worker"), names.load_labels("master")


def plan(workers: int = 2, entry: load_pods.EntryPoint = ENTRY, **kwargs) -> load_pods.Plan:
    return load_pods.Plan("ms5", "registry.example/ms5/locust:abc", workers, 10, 5, 45, entry, "ms5-secrets", DNS,
                          **kwargs)


def policy(objs: list[dict], part: str) -> dict:
    (found,) = [o for o in objs if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == names.load_object_name(part)]
    return found["spec"]


def test_the_workers_reach_the_entry_point_the_master_and_dns_and_nothing_else():
    spec = policy(load_pods.manifests(plan()), "workers")
    assert spec["podSelector"] == {"matchLabels": WORKERS} and spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["ingress"] == []
    assert spec["egress"] == [
        {"to": [{"podSelector": {"matchLabels": ENTRY.pods}}], "ports": [{"protocol": "TCP", "port": 8080}]},
        {"to": [{"podSelector": {"matchLabels": MASTER}}], "ports": [{"protocol": "TCP", "port": 5557}]},
        {"to": [{"podSelector": {"matchLabels": {"k8s-app": "coredns"}},
                 "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
         "ports": [{"protocol": "UDP", "port": 1053}, {"protocol": "TCP", "port": 1053}]}]


def test_the_master_takes_the_workers_on_its_port_and_opens_no_connection():
    spec = policy(load_pods.manifests(plan()), "master")
    assert spec["podSelector"] == {"matchLabels": MASTER} and spec["egress"] == []
    assert spec["ingress"] == [{"from": [{"podSelector": {"matchLabels": WORKERS}}],
                                "ports": [{"protocol": "TCP", "port": 5557}]}]


def test_an_isolated_entry_point_also_admits_the_workers_an_open_one_is_left_open():
    spec = policy(load_pods.manifests(plan()), "entry")
    assert spec == {"podSelector": {"matchLabels": ENTRY.pods}, "policyTypes": ["Ingress"],
                    "ingress": [{"from": [{"podSelector": {"matchLabels": WORKERS}}],
                                 "ports": [{"protocol": "TCP", "port": 8080}]}]}
    open_entry = load_pods.EntryPoint(ENTRY.url, ENTRY.pods, ENTRY.port, isolated=False)
    kinds = [o["metadata"]["name"] for o in load_pods.manifests(plan(entry=open_entry)) if o["kind"] == "NetworkPolicy"]
    assert names.load_object_name("entry") not in kinds  # a policy on an open nginx would shut everyone else out


def test_no_policy_of_the_load_opens_anything_wider():
    for obj in load_pods.manifests(plan()):
        if obj["kind"] != "NetworkPolicy":
            continue
        peers = [peer for rule in obj["spec"].get("ingress", []) + obj["spec"].get("egress", [])
                 for peer in rule.get("from", []) + rule.get("to", [])]
        assert peers and all(peer["podSelector"]["matchLabels"] for peer in peers), obj["metadata"]["name"]
        assert not any("ipBlock" in peer for peer in peers)
        assert all(rule.get("ports") for rule in obj["spec"].get("ingress", []) + obj["spec"].get("egress", []))


def test_everything_is_labelled_as_the_load_and_nothing_as_the_release():
    objs = load_pods.manifests(plan(workers=3))
    assert [o["kind"] for o in objs] == ["NetworkPolicy"] * 3 + ["Service"] + ["Pod"] * 4
    assert all(o["metadata"]["labels"][names.LOAD] == "true" for o in objs)
    assert all(o["metadata"]["labels"][names.MANAGED_BY] == names.HARNESS for o in objs)
    assert not any(names.INSTANCE in o["metadata"]["labels"] for o in objs)  # never one of the release's pods
    pod_names = [o["metadata"]["name"] for o in objs if o["kind"] == "Pod"]
    assert pod_names == [names.LOAD_MASTER, *plan(workers=3).worker_names()] and len(set(pod_names)) == 4
    (svc,) = [o for o in objs if o["kind"] == "Service"]
    assert svc["metadata"]["name"] == names.LOAD_MASTER and svc["spec"]["selector"] == MASTER


def test_load_pods_are_bounded_restricted_and_never_carry_the_password():
    p = plan(placement={"nodeSelector": {"kubernetes.azure.com/agentpool": "spot"}})
    master, *workers = [o for o in load_pods.manifests(p) if o["kind"] == "Pod"]
    assert p.master_deadline > p.seconds + load_pods.CONNECT_SECONDS and p.worker_deadline > p.master_deadline
    assert master["spec"]["activeDeadlineSeconds"] == p.master_deadline
    for pod in (master, *workers):
        spec, (container,) = pod["spec"], pod["spec"]["containers"]
        assert spec["restartPolicy"] == "Never" and spec["nodeSelector"] == {"kubernetes.azure.com/agentpool": "spot"}
        assert spec["securityContext"]["runAsNonRoot"] and container["securityContext"]["readOnlyRootFilesystem"]
        assert container["resources"]["requests"] and container["resources"]["limits"]
        assert not any("password" in arg.lower() for arg in container["args"])
    for worker in workers:
        assert worker["spec"]["activeDeadlineSeconds"] == p.worker_deadline
        env = {e["name"]: e for e in worker["spec"]["containers"][0]["env"]}
        assert env["MS5H_REQUEST_LOG"]["value"] == names.REQUEST_LOG_STDOUT
        assert env[load_pods.PASSWORD_ENV]["valueFrom"]["secretKeyRef"] == {"name": "ms5-secrets",
                                                                              "key": names.ADMIN_PASSWORD_KEY}
    args = master["spec"]["containers"][0]["args"]
    assert args[args.index("--expect-workers") + 1] == "2" and args[args.index("--run-time") + 1] == "45s"
    assert args[args.index("--host") + 1] == ENTRY.url and "--json" in args


def test_a_pool_the_profile_does_not_have_is_one_line():
    assert distributed.placement("local", "spot") == {}  # the embedded node: every pool is the one node
    aks = distributed.placement("aks", "spot")
    assert aks["nodeSelector"] == {"kubernetes.azure.com/agentpool": "spot"} and aks["tolerations"]
    with pytest.raises(HarnessError, match="node pool 'gpu' is not one of the aks profile's"):
        distributed.placement("aks", "gpu")


@pytest.mark.parametrize("selector,selected", [
    (None, True),
    (client.V1LabelSelector(), True),
    (client.V1LabelSelector(match_labels={"app.kubernetes.io/component": "nginx"}), True),
    (client.V1LabelSelector(match_labels={"app.kubernetes.io/component": "backend"}), False),
    (client.V1LabelSelector(match_expressions=[client.V1LabelSelectorRequirement(
        key="app.kubernetes.io/component", operator="In", values=["nginx", "flower"])]), True),
    (client.V1LabelSelector(match_expressions=[client.V1LabelSelectorRequirement(
        key="app.kubernetes.io/component", operator="NotIn", values=["nginx"])]), False),
    (client.V1LabelSelector(match_expressions=[client.V1LabelSelectorRequirement(key="tier", operator="Exists")]), False),
    (client.V1LabelSelector(match_expressions=[client.V1LabelSelectorRequirement(
        key="tier", operator="DoesNotExist")]), True),
])
def test_which_policies_select_the_entry_point(selector, selected):
    assert distributed.selects(selector, {"app.kubernetes.io/component": "nginx", "app.kubernetes.io/instance": "ms5"}) \
        is selected


MASTER_LOG = """\
[2026-12-02 01:21:13,355] vm/INFO/locust.main: Starting Locust 2.47.0
[2026-12-02 01:21:29,417] vm/INFO/locust.main: --run-time limit reached, stopping test
[
    {
        "name": "login",
        "method": "POST",
        "num_requests": 10,
        "num_failures": 0,
        "response_times": {
            "5": 3
        }
    },
[2026-12-02 01:21:36,423] vm/INFO/locust.main: Shutting down (exit code 0)
Type     Name                    # reqs      # fails |    Avg
--------|-----------------------|-------|-------------|-------
         Aggregated                  83     2(2.41%) |     12
    {
        "name": "dashboard summary",
        "method": "GET",
        "num_requests": 73,
        "num_failures": 2,
        "response_times": {}
    }
]
Type     Name                    # reqs      # fails |    Avg
         Aggregated                   0     0(0.00%) |      0
"""


def test_the_masters_totals_come_from_its_json_statistics_among_its_log_lines():
    assert load_pods.master_totals(MASTER_LOG) == (83, 2)
    assert load_pods.master_totals("[2026-12-02 01:21:13,355] vm/INFO/locust.main: Shutting down\n[]\n") == (0, 0)
    assert load_pods.master_totals("[2026-12-02 01:21:13,355] vm/ERROR/locust.main: Gave up waiting\n") is None
    assert load_pods.master_totals("[\n    {\n        \"num_requests\": 3,\n") is None  # cut off: no total at all


def test_a_workers_requests_are_its_prefixed_lines(tmp_path):
    log = ("[2026-12-02 01:21:13,414] w0/INFO/locust.main: Starting Locust 2.47.0\n"
           f"{names.REQUEST_LINE_PREFIX}1796173813.876,0.0088,0,login\n"
           "Traceback (most recent call last): ms5h-request,1,1,1,not at the start of a line\n"
           f"{names.REQUEST_LINE_PREFIX}1796173814.002,0.2500,1,oee current, line 1\n")
    lines = load_pods.request_lines(log)
    assert lines == ["1796173813.876,0.0088,0,login", "1796173814.002,0.2500,1,oee current, line 1"]
    (tmp_path / "requests.csv").write_text("".join(f"{line}\n" for line in lines))
    samples = read_samples(tmp_path / "requests.csv")
    assert [(s.started, s.seconds, s.failed) for s in samples] == [(1796173813.876, 0.0088, False),
                                                                    (1796173814.002, 0.25, True)]


def test_a_run_whose_merged_logs_differ_from_the_master_fails_and_says_so():
    kwargs = dict(users=10, seconds=40, client_requests=300, client_failures=0, prometheus_requests=300,
                  verdicts=[], workers=2)
    agreeing = LoadResult(**kwargs, logged_requests=320, master_requests=320)
    differing = LoadResult(**kwargs, logged_requests=318, master_requests=320)
    assert agreeing.merged and not differing.merged and not differing.passed
    assert differing.lines()[-1] == ("2 workers logged 318 requests, the Locust master counted 320 "
                                     "(they differ: a log is incomplete)")
    local = LoadResult(**{**kwargs, "workers": 0})
    assert local.merged and len(local.lines()) == 1  # a local run has no master to agree with


@pytest.mark.parametrize("argv,message", [
    (["load", "--workers", "0"], "error: --workers 0: a distributed run needs at least one worker"),
    (["load", "--workers", "-2"], "error: --workers -2: a distributed run needs at least one worker"),
    (["load", "--workers", "4", "--users", "3"], "error: --users 3 is fewer than --workers 4"),
    (["load", "--image", "x"], "error: --image is for the load pods of a distributed run"),
])
def test_the_cli_rejects_impossible_load_runs_in_one_line_before_touching_a_cluster(argv, message, monkeypatch, capsys):
    from ms5harness import target

    monkeypatch.setattr(target, "resolve", lambda *_a, **_k: pytest.fail("resolved a cluster"))
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


class FakeKube:
    """Pods, Services and NetworkPolicies of one namespace, as the load run's cleanup sees them."""

    def __init__(self, objects: dict[str, list[dict]]):
        self.objects, self.deleted, self.selectors = objects, [], set()
        self.core = SimpleNamespace(list_namespaced_pod=self.lister("pod"), delete_namespaced_pod=self.deleter("pod"),
                                    list_namespaced_service=self.lister("service"),
                                    delete_namespaced_service=self.deleter("service"))
        self.networking = SimpleNamespace(list_namespaced_network_policy=self.lister("networkpolicy"),
                                          delete_namespaced_network_policy=self.deleter("networkpolicy"))

    def lister(self, kind):
        def list_(namespace, label_selector=None):
            self.selectors.add(label_selector)
            return SimpleNamespace(items=[SimpleNamespace(metadata=SimpleNamespace(name=o["name"]))
                                          for o in self.objects[kind] if o["load"] or label_selector is None])
        return list_

    def deleter(self, kind):
        def delete(name, namespace):
            self.deleted.append(f"{kind}/{name}")
            self.objects[kind] = [o for o in self.objects[kind] if o["name"] != name]
            if name == "gone-already":  # deleted meanwhile by someone else
                raise client.ApiException(status=404, reason="Not Found")
        return delete


def test_the_cleanup_removes_every_load_object_by_label_and_nothing_else():
    kube = FakeKube({"pod": [{"name": "ms5h-load-master", "load": True}, {"name": "gone-already", "load": True},
                             {"name": "ms5-nginx-abc", "load": False}],
                     "service": [{"name": "ms5h-load-master", "load": True}, {"name": "ms5-nginx", "load": False}],
                     "networkpolicy": [{"name": "ms5h-load-entry", "load": True}, {"name": "ms5-nginx", "load": False}]})
    removed = distributed.remove(kube, "ms5")
    assert removed == ["pod/ms5h-load-master", "pod/gone-already", "service/ms5h-load-master",
                       "networkpolicy/ms5h-load-entry"] == kube.deleted
    assert kube.selectors == {names.load_selector()}
    assert [o["name"] for o in kube.objects["pod"]] == ["ms5-nginx-abc"]


@pytest.mark.parametrize("failure", [KeyboardInterrupt(), HarnessError("the Locust master failed")])
def test_a_run_that_fails_or_is_interrupted_keeps_the_logs_and_removes_everything(failure, monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(distributed, "remove", lambda kube, namespace: calls.append("remove") or [])
    run = distributed.DistributedRun(SimpleNamespace(kube=None, namespace="ms5"), tmp_path, workers=2)
    monkeypatch.setattr(run, "plan", plan)
    monkeypatch.setattr(run, "create", lambda _plan: calls.append("create"))
    monkeypatch.setattr(run, "wait_started", lambda _plan: calls.append("wait"))
    monkeypatch.setattr(run, "wait_connected", lambda _plan: None)

    def fail(_plan):
        raise failure
    monkeypatch.setattr(run, "wait_finished", fail)
    monkeypatch.setattr(run, "keep_logs", lambda _plan: calls.append("logs") or {})
    with pytest.raises(type(failure)):
        run.run(echo=lambda _m: None)
    assert calls == ["remove", "create", "wait", "logs", "remove"]  # leftovers first, then ours, last


def test_an_interrupt_during_the_cleanup_waits_for_its_end():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with distributed.deferred_interrupts():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.1)
            done.append("cleaned up")
    assert done == ["cleaned up"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_sigterm_ends_a_run_as_ctrl_c_does():
    with pytest.raises(KeyboardInterrupt):
        with distributed.terminate_as_interrupt():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_the_load_image_holds_the_locustfile_and_its_tag_follows_it(tmp_path):
    (image,) = [i for i in catalog.project_images() if i.key == "locust"]
    assert set(image.extra_files) == {"loadtests/locustfile.py", "ms5harness/__init__.py", "ms5harness/names.py"}
    repo = tmp_path / "repo"
    for name in ["images/locust/Dockerfile", "images/locust/requirements.txt", *image.extra_files]:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_bytes((paths.REPO_ROOT / name).read_bytes())
    (copy,) = [i for i in catalog.project_images(repo) if i.key == "locust"]
    assert copy.tag == image.tag
    (repo / "loadtests/locustfile.py").write_text("# another floor\n")
    (changed,) = [i for i in catalog.project_images(repo) if i.key == "locust"]
    assert changed.tag != image.tag
    with builder.build_context(changed) as context:
        assert (context / "loadtests/locustfile.py").read_text() == "# another floor\n"
        copied = [src for line in (context / "Dockerfile").read_text().splitlines() if line.startswith("COPY ")
                  for src in line.split()[1:-1]]
        assert set(copied) == {"requirements.txt", *image.extra_files}
        assert all((context / src).is_file() for src in copied)  # what the Dockerfile copies is in its context
    assert not context.exists()  # a temporary copy


def test_the_load_image_pins_what_the_harness_runs():
    lock = {line.split("==")[0].lower().replace("_", "-"): line.strip()
            for line in (paths.REPO_ROOT / "requirements.lock").read_text().splitlines() if "==" in line}
    pins = [line.strip() for line in (paths.REPO_ROOT / "images/locust/requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    assert "locust==2.47.0" in pins
    for pin in pins:
        assert lock.get(pin.split("==")[0].lower().replace("_", "-")) == pin, f"{pin} is not requirements.lock's"


# --- Locust's master and two workers on loopback, with the pods' arguments ---------------------------------------

class FloorStandIn(BaseHTTPRequestHandler):
    """The API's answers the floor user needs; every read takes 1.5 s, so users are inside requests when the
    run stops (a master that does not wait for its workers' last reports, a --headless one, misses those)."""

    def reply(self, body, status=200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802
        time.sleep(1.5)
        self.reply([{"id": 1}] if self.path.endswith("/production/lines") else {})

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.reply({"access_token": "t"} if self.path == names.LOGIN_PATH else {"id": 1}, 200)

    def log_message(self, *_args) -> None:
        pass


def with_value(args: list[str], option: str, value: str) -> list[str]:
    args = list(args)
    args[args.index(option) + 1] = value
    return args


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_workers_logs_merged_hold_exactly_the_masters_total():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FloorStandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port, p = free_port(), load_pods.Plan("ms5", "-", 2, 8, 8, 6, ENTRY, "-", DNS)
    master_args = with_value(with_value(load_pods.master_args(p), "--host", f"http://127.0.0.1:{server.server_port}"),
                             "--master-bind-port", str(port)) + ["--master-bind-host", "127.0.0.1",
                                                                 "--web-port", str(free_port())]
    worker_args = with_value(with_value(load_pods.worker_args(), "--master-host", "127.0.0.1"), "--master-port", str(port))
    locust = [str(Path(sys.executable).parent / "locust"), "-f", str(paths.REPO_ROOT / "loadtests" / "locustfile.py")]
    env = {**os.environ, "PYTHONPATH": str(paths.REPO_ROOT), "PYTHONUNBUFFERED": "1"}
    worker_env = {**env, "MS5H_REQUEST_LOG": names.REQUEST_LOG_STDOUT, load_pods.PASSWORD_ENV: "stand-in"}
    procs = [subprocess.Popen([*locust, *master_args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, text=True)]
    procs += [subprocess.Popen([*locust, *worker_args], env=worker_env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True) for _ in range(2)]
    try:
        logs = [proc.communicate(timeout=90)[0] for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
        server.shutdown()
    totals = load_pods.master_totals(logs[0])
    merged = [line for log in logs[1:] for line in load_pods.request_lines(log)]
    assert totals is not None and load_pods.RUN_STARTED in logs[0], logs[0][-2000:]
    assert all(load_pods.request_lines(log) for log in logs[1:]), "a worker made no request"
    assert totals[0] == len(merged) > 0, f"master {totals}, workers logged {len(merged)}"
    assert procs[0].returncode == 0, logs[0][-2000:]
