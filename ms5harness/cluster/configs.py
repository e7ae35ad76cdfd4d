"""Pure generators of every configuration file and command line the node runs.

Nothing here touches the machine, so each setting that matters (cgroup v1,
loopback NodePorts, no DNS forwarding, the admission chain) is unit-tested.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import yaml

from ms5harness.cluster.node_images import PAUSE
from ms5harness.cluster.spec import ClusterSpec

PAUSE_IMAGE = PAUSE.ref


def kubeconfig(spec: ClusterSpec, user: str, ca_pem: bytes, cert_pem: bytes, key_pem: bytes) -> str:
    """A self-contained kubeconfig (embedded certificates) so it can be copied anywhere."""

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": spec.cluster_name, "cluster": {
            "server": spec.server_url, "certificate-authority-data": b64(ca_pem)}}],
        "users": [{"name": user, "user": {
            "client-certificate-data": b64(cert_pem), "client-key-data": b64(key_pem)}}],
        "contexts": [{"name": spec.cluster_name, "context": {"cluster": spec.cluster_name, "user": user}}],
        "current-context": spec.cluster_name,
    }
    return yaml.safe_dump(doc, sort_keys=False)


def containerd_config(spec: ClusterSpec) -> str:
    return f"""version = 2
root = "{spec.state / 'containerd'}"
state = "{spec.run / 'containerd'}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "{spec.containerd_socket}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  enable_unprivileged_ports = false
  # This VM withholds CAP_SYS_RESOURCE, so nothing may lower oom_score_adj (the kubelet
  # asks -998 for sandboxes): clamp it to containerd's own value instead of failing.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{spec.cni_conf_dir}"
"""


def cni_conflist(spec: ClusterSpec) -> str:
    """A plain bridge: no masquerade, so pod traffic can never be NATed out of the machine."""
    doc = {
        "cniVersion": "1.0.0",
        "name": "ms5-pods",
        "plugins": [
            {
                "type": "bridge",
                "bridge": spec.bridge,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": spec.node_pod_cidr, "gateway": spec.bridge_ip}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(spec.state / "cni" / "ipam"),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    return json.dumps(doc, indent=2)


def kubelet_config(spec: ClusterSpec) -> str:
    doc = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(spec.pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "failSwapOn": False,
        "clusterDNS": [spec.dns_service_ip],
        "clusterDomain": spec.cluster_domain,
        "readOnlyPort": 0,
        "address": spec.node_ip,
        "healthzBindAddress": spec.local_address,
        "tlsCertFile": str(spec.pki / "kubelet-serving.crt"),
        "tlsPrivateKeyFile": str(spec.pki / "kubelet-serving.key"),
        "containerRuntimeEndpoint": f"unix://{spec.containerd_socket}",
        "resolvConf": "",
        # Imported images have no registry to come back from: never garbage-collect them.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {"memory.available": "200Mi", "nodefs.available": "2%", "imagefs.available": "2%"},
        "serializeImagePulls": False,
        "maxPods": 110,
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "shutdownGracePeriod": "0s",
    }
    if spec.cgroup_root != "/":
        doc["cgroupRoot"] = spec.cgroup_root  # a worker's pods live under its own subtree
        # Its own pod log directory: a kubelet's garbage collection deletes every directory of
        # /var/log/pods whose pod its runtime does not run, i.e. the other nodes' logs (seen as
        # Locust workers' logs that had lost most of their lines).
        doc["podLogsDir"] = str(spec.pod_logs)
    return yaml.safe_dump(doc, sort_keys=False)


def kube_proxy_config(spec: ClusterSpec) -> str:
    doc = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(spec.config_dir / "kube-proxy.kubeconfig")},
        "mode": "iptables",
        "clusterCIDR": spec.pod_cidr,
        "hostnameOverride": spec.node_name,
        "bindAddress": "127.0.0.1",
        "metricsBindAddress": f"{spec.local_address}:10249",
        "healthzBindAddress": f"{spec.local_address}:10256",
        # NodePorts answer on loopback only: load and tests target 127.0.0.1.
        "nodePortAddresses": ["127.0.0.0/8"],
        "iptables": {"localhostNodePorts": True, "masqueradeAll": False},
        "conntrack": {"maxPerCore": 0},
    }
    return yaml.safe_dump(doc, sort_keys=False)


def _flags(**kwargs: object) -> list[str]:
    return [f"--{k.replace('_', '-')}={v}" for k, v in kwargs.items()]


def etcd_args(spec: ClusterSpec) -> list[str]:
    return _flags(
        name="ms5",
        data_dir=spec.state / "etcd",
        listen_client_urls="http://127.0.0.1:2379",
        advertise_client_urls="http://127.0.0.1:2379",
        listen_peer_urls="http://127.0.0.1:2380",
        initial_advertise_peer_urls="http://127.0.0.1:2380",
        initial_cluster="ms5=http://127.0.0.1:2380",
        listen_metrics_urls="http://127.0.0.1:2381",
        quota_backend_bytes=2 * 1024**3,
        snapshot_count=10000,
        log_level="warn",
    )


def apiserver_args(spec: ClusterSpec) -> list[str]:
    pki = spec.pki
    return _flags(
        advertise_address=spec.node_ip,
        bind_address="0.0.0.0",
        secure_port=spec.api_port,
        etcd_servers="http://127.0.0.1:2379",
        service_cluster_ip_range=spec.service_cidr,
        service_node_port_range="30000-32767",
        tls_cert_file=pki / "apiserver.crt",
        tls_private_key_file=pki / "apiserver.key",
        client_ca_file=pki / "ca.crt",
        kubelet_client_certificate=pki / "apiserver-kubelet-client.crt",
        kubelet_client_key=pki / "apiserver-kubelet-client.key",
        kubelet_certificate_authority=pki / "ca.crt",
        kubelet_preferred_address_types="InternalIP",
        service_account_key_file=pki / "sa.pub",
        service_account_signing_key_file=pki / "sa.key",
        service_account_issuer=f"https://kubernetes.default.svc.{spec.cluster_domain}",
        # As on AKS: Node + RBAC authorization; NodeRestriction on top of the default
        # admission chain, which already includes PodSecurity.
        authorization_mode="Node,RBAC",
        enable_admission_plugins="NodeRestriction",
        allow_privileged="true",
        anonymous_auth="false",
        requestheader_client_ca_file=pki / "front-proxy-ca.crt",
        requestheader_allowed_names="front-proxy-client",
        requestheader_extra_headers_prefix="X-Remote-Extra-",
        requestheader_group_headers="X-Remote-Group",
        requestheader_username_headers="X-Remote-User",
        proxy_client_cert_file=pki / "front-proxy-client.crt",
        proxy_client_key_file=pki / "front-proxy-client.key",
        enable_aggregator_routing="true",
        profiling="false",
        event_ttl="2h",
        v=1,
    )


def _control_plane_flags(spec: ClusterSpec, name: str) -> dict:
    """What controller-manager and scheduler share: their identity, loopback binding, one instance."""
    kubeconfig_path = spec.config_dir / f"{name}.kubeconfig"
    return dict(
        kubeconfig=kubeconfig_path,
        authentication_kubeconfig=kubeconfig_path,
        authorization_kubeconfig=kubeconfig_path,
        bind_address="127.0.0.1",
        leader_elect="false",
        profiling="false",
        v=1,
    )


def controller_manager_args(spec: ClusterSpec) -> list[str]:
    return _flags(
        **_control_plane_flags(spec, "controller-manager"),
        use_service_account_credentials="true",
        service_account_private_key_file=spec.pki / "sa.key",
        root_ca_file=spec.pki / "ca.crt",
        cluster_signing_cert_file=spec.pki / "ca.crt",
        cluster_signing_key_file=spec.pki / "ca.key",
        allocate_node_cidrs="true",
        cluster_cidr=spec.pod_cidr,
        node_cidr_mask_size=24,
        service_cluster_ip_range=spec.service_cidr,
        controllers="*,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller",
        # Fast HPA reaction (the plan asks < 30 s) on a node that sees little churn.
        horizontal_pod_autoscaler_sync_period="10s",
    )


def scheduler_args(spec: ClusterSpec) -> list[str]:
    return _flags(**_control_plane_flags(spec, "scheduler"))


def kubelet_args(spec: ClusterSpec) -> list[str]:
    pool = {}
    if spec.node_labels:
        pool["node_labels"] = ",".join(f"{k}={v}" for k, v in spec.node_labels)
    if spec.node_taints:
        pool["register_with_taints"] = ",".join(spec.node_taints)
    return _flags(
        config=spec.config_dir / "kubelet.yaml",
        kubeconfig=spec.config_dir / "kubelet.kubeconfig",
        hostname_override=spec.node_name,
        node_ip=spec.node_ip,
        root_dir=spec.kubelet_root,
        cert_dir=spec.kubelet_root / "pki",
        **pool,
        v=1,
    )


def kube_proxy_args(spec: ClusterSpec) -> list[str]:
    return _flags(config=spec.config_dir / "kube-proxy.yaml", v=1)


def kube_router_args(spec: ClusterSpec) -> list[str]:
    """kube-router as a NetworkPolicy controller only, the way k3s embeds it."""
    return _flags(
        kubeconfig=spec.config_dir / "kube-router.kubeconfig",
        run_firewall="true",
        run_router="false",
        run_service_proxy="false",
        enable_cni="false",
        enable_ipv6="false",
        hostname_override=spec.node_name,
        service_cluster_ip_range=spec.service_cidr,
        health_port=20244,
        metrics_port=0,
        iptables_sync_period="30s",
        v=1,
    )


def corefile(spec: ClusterSpec) -> str:
    """Cluster names only: no `forward`, so no query ever leaves the machine."""
    return f""".:1053 {{
    errors
    health {{
        lameduck 5s
    }}
    ready
    kubernetes {spec.cluster_domain} in-addr.arpa ip6.arpa {{
        pods insecure
        ttl 30
    }}
    prometheus :9153
    cache 30
    loop
    reload
    loadbalance
}}
"""


def write_all(spec: ClusterSpec) -> None:
    """Write the node's static config files (kubeconfigs are written with the PKI)."""
    files: dict[Path, str] = {
        spec.config_dir / "containerd.toml": containerd_config(spec),
        spec.cni_conf_dir / "10-ms5-bridge.conflist": cni_conflist(spec),
        spec.config_dir / "kubelet.yaml": kubelet_config(spec),
        spec.config_dir / "kube-proxy.yaml": kube_proxy_config(spec),
    }
    for path, text in files.items():
        write_if_changed(path, text)


def write_if_changed(path: Path, text: str, mode: int = 0o644) -> None:
    """Leave unchanged files alone: kube-proxy exits when its config file is touched."""
    if path.exists() and path.read_text() == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
