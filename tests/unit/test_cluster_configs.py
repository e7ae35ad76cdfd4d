"""The node settings that matter on this kind of host, checked without starting anything."""

import json
from pathlib import Path

import yaml

from ms5harness.cluster import addons, configs
from ms5harness.cluster.spec import ClusterSpec

SPEC = ClusterSpec(node_ip="192.0.2.2", egress_interface="eth0", state=Path("/tmp/s"), run=Path("/tmp/r"))


def test_kubelet_runs_on_cgroup_v1_with_cgroupfs_and_keeps_imported_images():
    cfg = yaml.safe_load(configs.kubelet_config(SPEC))
    assert cfg["cgroupDriver"] == "cgroupfs"
    assert cfg["failCgroupV1"] is False
    assert cfg["readOnlyPort"] == 0
    assert cfg["authentication"]["anonymous"]["enabled"] is False
    assert cfg["authorization"]["mode"] == "Webhook"
    assert cfg["clusterDNS"] == ["10.96.0.10"]
    assert cfg["imageGCHighThresholdPercent"] == 100


def test_kube_proxy_uses_iptables_and_loopback_node_ports():
    cfg = yaml.safe_load(configs.kube_proxy_config(SPEC))
    assert cfg["mode"] == "iptables"
    assert cfg["nodePortAddresses"] == ["127.0.0.0/8"]
    assert cfg["iptables"]["localhostNodePorts"] is True
    assert cfg["conntrack"]["maxPerCore"] == 0


def test_cni_bridge_never_masquerades():
    plugin = json.loads(configs.cni_conflist(SPEC))["plugins"][0]
    assert plugin["type"] == "bridge" and plugin["ipMasq"] is False
    assert plugin["ipam"]["ranges"][0][0]["subnet"] == "10.244.0.0/24"


def test_containerd_uses_cgroupfs_debian_cni_and_clamps_oom_score():
    text = configs.containerd_config(SPEC)
    assert "SystemdCgroup = false" in text
    assert 'bin_dir = "/usr/lib/cni"' in text
    assert "restrict_oom_score_adj = true" in text
    assert configs.PAUSE_IMAGE in text


def test_corefile_has_no_upstream_forwarding():
    corefile = configs.corefile(SPEC)
    assert "forward" not in corefile and "proxy" not in corefile
    assert "kubernetes cluster.local" in corefile


def test_apiserver_authorizes_like_aks():
    args = configs.apiserver_args(SPEC)
    assert "--authorization-mode=Node,RBAC" in args
    assert "--enable-admission-plugins=NodeRestriction" in args
    assert "--anonymous-auth=false" in args
    assert "--advertise-address=192.0.2.2" in args
    assert not any(a.startswith("--disable-admission-plugins") for a in args)


def test_kube_router_only_enforces_policy():
    args = configs.kube_router_args(SPEC)
    for flag in ("--run-firewall=true", "--run-router=false", "--run-service-proxy=false", "--enable-cni=false"):
        assert flag in args


def test_kubeconfig_embeds_credentials():
    doc = yaml.safe_load(configs.kubeconfig(SPEC, "admin", b"CA", b"CERT", b"KEY"))
    assert doc["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
    assert doc["users"][0]["user"]["client-certificate-data"] == "Q0VSVA=="
    assert doc["current-context"] == SPEC.cluster_name


def test_addon_pods_meet_pod_security_restricted():
    deployments = [o for o in addons.all_addons(SPEC) if o["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} == {"coredns", "metrics-server"}
    for dep in deployments:
        pod = dep["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for c in pod["containers"]:
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"]
            assert sc["readOnlyRootFilesystem"] is True and sc["seccompProfile"]["type"] == "RuntimeDefault"
            assert c["imagePullPolicy"] == "Never" and not c["image"].endswith(":latest")


def test_metrics_server_verifies_kubelet_tls():
    (dep,) = [o for o in addons.metrics_server(SPEC) if o["kind"] == "Deployment"]
    args = dep["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--kubelet-insecure-tls" not in args
    assert any(a.startswith("--kubelet-certificate-authority=") for a in args)


def test_service_addresses_derive_from_ranges():
    assert SPEC.api_service_ip == "10.96.0.1"
    assert SPEC.bridge_ip == "10.244.0.1"
