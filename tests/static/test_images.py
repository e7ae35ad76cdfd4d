"""Static checks of the infrastructure images and of the configuration the chart gives them.

The Dockerfiles follow the build contract (Debian bookworm base by ARG, numeric non-root USER, one
directory per values key); the small programs baked into the images are exercised on 127.0.0.1;
Prometheus rules/config, dashboard queries and the Alertmanager config go through promtool/amtool
when those are installed (Debian packages prometheus and prometheus-alertmanager).
"""

from __future__ import annotations

import json
import os
import py_compile
import re
import socket
import subprocess
import sys
import time
import types
import urllib.request
from pathlib import Path

import pytest
import yaml

from ms5harness import chart, paths

from chart_checks import configmap_data, tool

IMAGES = paths.REPO_ROOT / "images"
BUILT_HERE = ("postgres", "redis", "nginx", "prometheus", "alertmanager", "blackbox", "webhook", "s3", "tools")
UPSTREAM = ("grafana", "minio")  # pinned upstream images, never built here (licences)
BINARY = ("toxiproxy",)  # FROM-scratch images of one pinned Go binary (ms5harness.cluster.node_images.CHART_IMAGES)


def values() -> dict:
    return yaml.safe_load((chart.CHART_DIR / "values.yaml").read_text())


def test_every_built_image_has_its_dockerfile():
    images = values()["images"]
    assert set(images) == {*BUILT_HERE, *UPSTREAM, *BINARY, "backend"}
    for key in BUILT_HERE:
        assert (IMAGES / key / "Dockerfile").is_file(), key
        assert images[key]["repository"] == key and images[key]["registry"] == ""
    for key in UPSTREAM:
        assert images[key]["registry"] and re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", images[key]["tag"])
        assert not (IMAGES / key).exists(), f"{key} must not be built here"


def test_binary_images_are_the_pinned_builds():
    """The chart's tag of a binary image is the pinned version its image is built and tagged with."""
    from ms5harness.cluster.build import COMPONENTS
    from ms5harness.cluster.node_images import CHART_IMAGES

    images = values()["images"]
    assert sorted(i.key for i in CHART_IMAGES) == sorted(BINARY)
    for image in CHART_IMAGES:
        assert images[image.key] == {"registry": "", "repository": image.key, "tag": image.tag,
                                     "pullPolicy": "IfNotPresent"}, image.key
        assert not (IMAGES / image.key).exists(), f"{image.key} is built from its binary, not a Dockerfile"
        assert any(image.binary in c.binaries and c.version == image.tag for c in COMPONENTS), image.key


@pytest.mark.parametrize("key", BUILT_HERE)
def test_dockerfile_contract(key):
    text = (IMAGES / key / "Dockerfile").read_text()
    instructions = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    assert instructions[0] == "ARG BASE_IMAGE=debian:bookworm-slim"
    assert instructions[1] == "FROM ${BASE_IMAGE}"
    assert len([ln for ln in instructions if ln.startswith("FROM ")]) == 1
    users = [ln.split()[1] for ln in instructions if ln.startswith("USER ")]
    assert users and re.fullmatch(r"[1-9][0-9]*:[1-9][0-9]*", users[-1]), "numeric non-root USER"
    assert "latest" not in text
    for ln in instructions:
        if "pip install" in ln:
            assert "--cert /etc/ssl/certs/ca-certificates.crt" in ln
        if "apt-get install" in ln:
            assert "--no-install-recommends" in ln


def test_python_programs_compile(tmp_path):
    programs = [
        IMAGES / "webhook" / "alert-webhook.py",
        IMAGES / "prometheus" / "ms5-k8s-sd.py",
        *sorted(p for p in (IMAGES / "tools" / "bin").iterdir() if p.is_file()),
    ]
    for program in programs:
        py_compile.compile(str(program), cfile=str(tmp_path / (program.name + ".pyc")), doraise=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_alert_webhook_records_alerts():
    port = _free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "MAX_ALERTS": "3"}
    proc = subprocess.Popen([sys.executable, str(IMAGES / "webhook" / "alert-webhook.py")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(50):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        payload = {"receiver": "critical", "status": "firing", "alerts": [
            {"status": "firing", "labels": {"alertname": f"A{i}", "severity": "critical"}, "annotations": {}} for i in range(4)
        ]}
        req = urllib.request.Request(base + "/critical", data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        assert json.load(urllib.request.urlopen(req, timeout=5)) == {"stored": 4}
        alerts = json.load(urllib.request.urlopen(base + "/alerts?receiver=critical", timeout=5))
        assert [a["labels"]["alertname"] for a in alerts] == ["A1", "A2", "A3"]  # bounded by MAX_ALERTS
        assert json.load(urllib.request.urlopen(base + "/alerts?receiver=warning", timeout=5)) == []
        urllib.request.urlopen(urllib.request.Request(base + "/alerts", method="DELETE"), timeout=5)
        assert json.load(urllib.request.urlopen(base + "/alerts", timeout=5)) == []
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _load_sd(tmp_path, monkeypatch):
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("t")
    (sa / "namespace").write_text("ms5")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("NAMESPACE", "ms5")
    monkeypatch.setenv("OUTPUT_DIR", str(tmp_path / "out"))
    source = (IMAGES / "prometheus" / "ms5-k8s-sd.py").read_text()
    source = source.replace('SA = "/var/run/secrets/kubernetes.io/serviceaccount"', f'SA = "{sa}"')
    source = source.replace('CONTEXT = ssl.create_default_context(cafile=f"{SA}/ca.crt")', "CONTEXT = None")
    module = types.ModuleType("ms5_k8s_sd")
    exec(compile(source, "ms5-k8s-sd.py", "exec"), module.__dict__)
    return module


def test_k8s_sd_sidecar_targets(tmp_path, monkeypatch):
    sd = _load_sd(tmp_path, monkeypatch)
    api = {
        "/api/v1/namespaces/ms5/services": {"items": [
            {"metadata": {"name": "ms5-postgres-metrics", "labels": {"app.kubernetes.io/component": "postgres"},
                          "annotations": {"prometheus.io/scrape": "true"}}},
            {"metadata": {"name": "ms5-minio-metrics", "labels": {"app.kubernetes.io/component": "minio"},
                          "annotations": {"prometheus.io/scrape": "true", "prometheus.io/path": "/minio/v2/metrics/cluster"}}},
            {"metadata": {"name": "ms5-postgres", "labels": {"app.kubernetes.io/component": "postgres"}}},
        ]},
        "/apis/discovery.k8s.io/v1/namespaces/ms5/endpointslices": {"items": [
            {"metadata": {"labels": {"kubernetes.io/service-name": "ms5-postgres-metrics"}},
             "ports": [{"name": "metrics", "port": 9187}, {"name": "patroni-metrics", "port": 8008}],
             "endpoints": [{"addresses": ["10.244.0.5"], "targetRef": {"name": "ms5-postgres-0"}}]},
            {"metadata": {"labels": {"kubernetes.io/service-name": "ms5-minio-metrics"}},
             "ports": [{"name": "metrics", "port": 9000}],
             "endpoints": [{"addresses": ["10.244.0.9"], "targetRef": {"name": "ms5-minio-0"}}]},
            {"metadata": {"labels": {"kubernetes.io/service-name": "ms5-postgres"}},
             "ports": [{"name": "postgresql", "port": 5432}],
             "endpoints": [{"addresses": ["10.244.0.5"]}]},
        ]},
        "/api/v1/nodes": {"items": [{"metadata": {"name": "n1", "labels": {}},
                                     "status": {"addresses": [{"type": "InternalIP", "address": "192.0.2.2"}]}}]},
    }
    sd.get = lambda path: api[path]
    targets = {(g["labels"]["job"], g["targets"][0], g["labels"]["__metrics_path__"]) for g in sd.service_targets()}
    assert targets == {
        ("postgres", "10.244.0.5:9187", "/metrics"),
        ("postgres-patroni", "10.244.0.5:8008", "/metrics"),
        ("minio", "10.244.0.9:9000", "/minio/v2/metrics/cluster"),
    }
    assert sd.node_targets() == [{"targets": ["192.0.2.2:10250"], "labels": {"node": "n1", "agentpool": ""}}]
    os.makedirs(sd.OUT)
    sd.write("nodes.json", sd.node_targets())
    assert json.loads(Path(sd.OUT, "nodes.json").read_text())[0]["targets"] == ["192.0.2.2:10250"]


# --- promtool / amtool ----------------------------------------------------------------------------


@pytest.mark.parametrize("profile", chart.PROFILES)
def test_promtool_rules_and_config(profile, tmp_path):
    promtool = tool("promtool")
    data = configmap_data(profile)
    rules = []
    for name, text in data.items():
        if name.endswith(".yml") and "groups:" in text:
            path = tmp_path / name.replace("/", "--")
            path.write_text(text)
            rules.append(str(path))
    assert len(rules) == 5  # platform alerts, SLIs, SLOs, cost, backup age
    proc = subprocess.run([promtool, "check", "rules", *rules], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    token = tmp_path / "token"
    token.write_text("t")
    config = data["ms5-prometheus-config/prometheus.yml"].replace("/var/run/secrets/kubernetes.io/serviceaccount/token", str(token))
    config = config.replace("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", "/etc/ssl/certs/ca-certificates.crt")
    (tmp_path / "prometheus.yml").write_text(config)
    proc = subprocess.run([promtool, "check", "config", "--syntax-only", str(tmp_path / "prometheus.yml")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dashboard_queries_parse(tmp_path):
    promtool = tool("promtool")
    rules = []
    for name, text in configmap_data("local").items():
        if name.startswith("ms5-grafana-dashboards/"):
            for i, panel in enumerate(json.loads(text)["panels"]):
                for t in panel["targets"]:
                    rules.append({"record": f"dashboard:{Path(name).stem.replace('-', '_')}:p{i}{t['refId']}", "expr": t["expr"]})
    path = tmp_path / "dashboards.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    proc = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("profile", chart.PROFILES)
def test_amtool_config(profile, tmp_path):
    amtool = tool("amtool")
    path = tmp_path / "alertmanager.yml"
    path.write_text(configmap_data(profile)["ms5-alertmanager-config/alertmanager.yml"])
    proc = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
