"""The embedded node is a real, conformant-enough Kubernetes node."""

import json

import pytest

from ms5harness import tools
from ms5harness.kube import objects, waits

pytestmark = pytest.mark.cluster


def kubectl(kubeconfig, *args):
    return tools.run("kubectl", kubeconfig, *args, check=False, seconds=60)


def test_node_is_ready(kube):
    nodes = kube.core.list_node().items
    assert nodes, "the cluster has no nodes"
    for node in nodes:
        ready = {c.type: c.status for c in node.status.conditions}["Ready"]
        assert ready == "True", f"node {node.metadata.name} is not Ready"


def test_deployment_rolls_out_and_runs_an_imported_image(kube, scratch):
    scratch.create(objects.deployment("web", scratch.image, replicas=2, port=8080,
                                      command=["python3", "-m", "http.server", "8080"]))
    dep = waits.deployment_available(kube, scratch.name, "web", timeout=120)
    assert dep.status.available_replicas == 2
    pods = kube.core.list_namespaced_pod(scratch.name, label_selector="app=web").items
    assert {p.spec.containers[0].image for p in pods} == {scratch.image}
    assert all(p.status.phase == "Running" for p in pods)


def test_service_name_resolves_inside_a_pod(scratch):
    scratch.serve_http("backend")
    scratch.create(objects.service("backend", {"app": "backend"}, 80, 8080))
    scratch.sleeper("client")
    fqdn = f"backend.{scratch.name}.svc.cluster.local"
    result = scratch.exec("client", ["getent", "hosts", fqdn])
    assert result.exit_code == 0, f"{fqdn} did not resolve: {result.stderr}"
    assert result.stdout.split()[0].startswith("10.96."), result.stdout
    short = scratch.exec("client", ["curl", "-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", "http://backend/"])
    assert short.stdout == "200", f"service answered {short.stdout!r} {short.stderr}"


def test_names_outside_the_cluster_are_not_forwarded(scratch):
    scratch.sleeper("client")
    result = scratch.exec("client", ["getent", "hosts", "registry.example.invalid"])
    assert result.exit_code != 0, f"an outside name resolved: {result.stdout}"


def test_node_port_answers_on_loopback(kube, scratch):
    import httpx

    scratch.serve_http("web")
    scratch.create(objects.service("web", {"app": "web"}, 80, 8080, node_port=True))
    port = kube.core.read_namespaced_service("web", scratch.name).spec.ports[0].node_port
    response = waits.poll(f"http://127.0.0.1:{port}/", lambda: httpx.get(f"http://127.0.0.1:{port}/", timeout=3),
                          lambda r: r.status_code == 200, timeout=30)
    assert "Directory listing" in response.text


def test_kubectl_exec_and_logs_work(kubeconfig, scratch):
    scratch.serve_http("web")
    exec_out = kubectl(kubeconfig, "-n", scratch.name, "exec", "web", "--", "sh", "-c", "echo hello-from-$(hostname)")
    assert exec_out.returncode == 0, exec_out.stderr
    assert exec_out.stdout.strip() == "hello-from-web"
    scratch.exec("web", ["curl", "-sS", "-m", "5", "http://127.0.0.1:8080/logged-path"])
    logs = waits.poll("request in logs", lambda: kubectl(kubeconfig, "-n", scratch.name, "logs", "web").stdout,
                      lambda text: "GET /logged-path" in text, timeout=20)
    assert "404" in logs


def test_kubectl_top_nodes_returns_figures(kubeconfig, kube):
    def top():
        out = kubectl(kubeconfig, "top", "nodes", "--no-headers")
        return out.stdout if out.returncode == 0 else ""

    text = waits.poll("kubectl top nodes", top, lambda t: bool(t.strip()), timeout=120, interval=5)
    name, cpu, cpu_pct, mem, mem_pct = text.split()[:5]
    assert cpu.endswith("m") and int(cpu[:-1]) > 0, text
    assert mem.endswith("Mi") and int(mem[:-2]) > 0, text


def test_version_is_the_pinned_release(kubeconfig):
    from ms5harness.cluster import versions

    out = json.loads(kubectl(kubeconfig, "version", "-o", "json").stdout)
    assert out["serverVersion"]["gitVersion"] == versions.KUBERNETES
