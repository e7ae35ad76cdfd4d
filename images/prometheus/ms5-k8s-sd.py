#!/usr/bin/env python3
"""Kubernetes service discovery for Prometheus, as a sidecar writing file_sd target files.

Debian's Prometheus 2.42 is built without kubernetes_sd_configs, so this sidecar asks the Kubernetes
API (with the pod's ServiceAccount and the RBAC the chart grants: services and endpointslices in the
namespace, nodes cluster-wide) and writes what kubernetes_sd_configs would have produced:

  services.json  one target per endpoint of every Service annotated prometheus.io/scrape=true, for
                 each port named "metrics" (job=<component>) or "<x>-metrics" (job=<component>-<x>),
                 labels namespace, service, pod, component and __metrics_path__ (prometheus.io/path)
  nodes.json     every node's kubelet (<InternalIP>:<KUBELET_PORT>) with labels node and agentpool

Files are replaced atomically every INTERVAL seconds; on an API error the last good files stay.
Standard library only.
"""

import json
import os
import re
import ssl
import sys
import time
import urllib.request

SA = "/var/run/secrets/kubernetes.io/serviceaccount"
NAMESPACE = os.environ.get("NAMESPACE") or open(f"{SA}/namespace").read().strip()
OUT = os.environ.get("OUTPUT_DIR", "/etc/prometheus/sd")
INTERVAL = float(os.environ.get("INTERVAL", "15"))
KUBELET_PORT = int(os.environ.get("KUBELET_PORT", "10250"))
API = f"https://{os.environ['KUBERNETES_SERVICE_HOST']}:{os.environ.get('KUBERNETES_SERVICE_PORT', '443')}"
PORT_NAME = re.compile(r"^(?:(?P<prefix>.+)-)?metrics$")
CONTEXT = ssl.create_default_context(cafile=f"{SA}/ca.crt")


def get(path: str) -> dict:
    with open(f"{SA}/token") as fh:
        token = fh.read().strip()
    req = urllib.request.Request(API + path, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    with urllib.request.urlopen(req, context=CONTEXT, timeout=10) as resp:
        return json.load(resp)


def service_targets() -> list[dict]:
    services = {
        s["metadata"]["name"]: s
        for s in get(f"/api/v1/namespaces/{NAMESPACE}/services")["items"]
        if s["metadata"].get("annotations", {}).get("prometheus.io/scrape") == "true"
    }
    groups = []
    for sl in get(f"/apis/discovery.k8s.io/v1/namespaces/{NAMESPACE}/endpointslices")["items"]:
        svc = services.get(sl["metadata"].get("labels", {}).get("kubernetes.io/service-name", ""))
        if svc is None:
            continue
        component = svc["metadata"].get("labels", {}).get("app.kubernetes.io/component", svc["metadata"]["name"])
        path = svc["metadata"].get("annotations", {}).get("prometheus.io/path", "/metrics")
        for port in sl.get("ports") or []:
            m = PORT_NAME.match(port.get("name") or "")
            if not m:
                continue
            job = component if not m.group("prefix") else f"{component}-{m.group('prefix')}"
            for ep in sl.get("endpoints") or []:
                pod = (ep.get("targetRef") or {}).get("name", "")
                for address in ep.get("addresses", []):
                    host = f"[{address}]" if ":" in address else address
                    groups.append({
                        "targets": [f"{host}:{port['port']}"],
                        "labels": {
                            "job": job, "namespace": NAMESPACE, "service": svc["metadata"]["name"],
                            "pod": pod, "component": component, "__metrics_path__": path,
                        },
                    })
    return sorted(groups, key=lambda g: (g["labels"]["job"], g["targets"][0]))


def node_targets() -> list[dict]:
    groups = []
    for node in get("/api/v1/nodes")["items"]:
        addresses = {a["type"]: a["address"] for a in node.get("status", {}).get("addresses", [])}
        address = addresses.get("InternalIP") or addresses.get("Hostname")
        if not address:
            continue
        labels = node["metadata"].get("labels", {})
        groups.append({
            "targets": [f"{address}:{KUBELET_PORT}"],
            "labels": {"node": node["metadata"]["name"], "agentpool": labels.get("kubernetes.azure.com/agentpool", "")},
        })
    return groups


def write(name: str, groups: list[dict]) -> None:
    tmp = os.path.join(OUT, f".{name}.tmp")
    with open(tmp, "w") as fh:
        json.dump(groups, fh, indent=1)
    os.replace(tmp, os.path.join(OUT, name))


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    for name in ("services.json", "nodes.json"):
        if not os.path.exists(os.path.join(OUT, name)):
            write(name, [])
    while True:
        try:
            services, nodes = service_targets(), node_targets()
            write("services.json", services)
            write("nodes.json", nodes)
            with open(os.path.join(OUT, ".synced"), "w") as fh:
                fh.write(f"{time.time():.0f} services={len(services)} nodes={len(nodes)}\n")
        except Exception as exc:  # keep the last good files; the liveness probe notices a stuck loop
            print(f"k8s-sd: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        time.sleep(INTERVAL)


if __name__ == "__main__":
    main()
