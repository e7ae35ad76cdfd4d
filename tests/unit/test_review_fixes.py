"""Bugs found in review, each with the test that would have caught it."""

import subprocess
from types import SimpleNamespace

import pytest

from ms5harness import chart, deploy, tools
from ms5harness.chaos.pods.probes import is_ready
from ms5harness.errors import HarnessError


def pod(statuses, phase="Running"):
    return SimpleNamespace(metadata=SimpleNamespace(deletion_timestamp=None),
                           status=SimpleNamespace(phase=phase, container_statuses=statuses))


def test_a_pod_without_container_statuses_is_not_ready():
    assert not is_ready(pod(None)) and not is_ready(pod([]))
    assert is_ready(pod([SimpleNamespace(ready=True)])) and not is_ready(pod([SimpleNamespace(ready=False)]))


def test_a_helm_that_outlives_its_limit_is_one_line(monkeypatch):
    def hang(*_args, **kwargs):
        raise subprocess.TimeoutExpired("helm", kwargs["timeout"])

    monkeypatch.setattr(tools.subprocess, "run", hang)
    monkeypatch.setattr(tools, "binary", lambda _name: "helm")
    with pytest.raises(HarnessError, match="helm upgrade did not finish in 1260s"):
        chart.helm("/nowhere", "upgrade", seconds=1260)


def test_a_failing_kubectl_or_helm_is_one_line(monkeypatch):
    """Every kubectl and helm call goes through tools.run: a non-zero exit names the verb and the last line."""
    def fail(cmd, **_kwargs):
        return subprocess.CompletedProcess(cmd, 1, "", "warning: first\nerror: the server has no resource 'x'\n")

    monkeypatch.setattr(tools.subprocess, "run", fail)
    monkeypatch.setattr(tools, "binary", lambda _name: "kubectl")
    with pytest.raises(HarnessError, match=r"^kubectl get node failed: error: the server has no resource 'x'$"):
        tools.run("kubectl", None, "get", "node", seconds=5)
    assert tools.run("kubectl", None, "get", "node", seconds=5, check=False).returncode == 1


def test_a_pending_rollout_is_diagnosed_at_most_every_few_seconds(monkeypatch):
    """why_not_ready lists every pod and event of the namespace: once per workload per diagnosis period."""
    now = [0.0]

    def tick():
        return now[0]

    def sleep(seconds):
        now[0] += seconds

    calls = []
    monkeypatch.setattr(deploy.time, "monotonic", tick)
    monkeypatch.setattr(deploy.time, "sleep", sleep)
    monkeypatch.setattr(deploy, "observe", lambda *_a: None)
    monkeypatch.setattr(deploy, "why_not_ready", lambda _t, _n, w: calls.append(w.name) or "Pending")
    workloads = [deploy.Workload("Deployment", "a", 1), deploy.Workload("Deployment", "b", 1)]
    with pytest.raises(HarnessError, match="not ready after 60s"):
        deploy.wait_rollouts(None, "ms5", workloads, timeout=60, start=0.0)
    # 60 s of polling every 2 s = 31 polls; diagnosis every 10 s = 7 per workload, plus the final message
    assert calls.count("a") <= 60 / deploy.DIAGNOSE_EVERY_SECONDS + 2 and calls.count("b") <= 60 / 10 + 1
