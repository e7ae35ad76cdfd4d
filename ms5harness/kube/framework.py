"""A scratch namespace per test, as in Kubernetes' e2e framework: tests stay free of plumbing.

Objects are applied with server-side apply, waits are bounded, and the namespace
(with everything in it) is deleted afterwards, even when the test fails.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import Iterator

from kubernetes import client, utils

from ms5harness.kube import objects, waits
from ms5harness.kube.client import Kube

CONNECT_SECONDS = 3  # a TCP connect in the cluster: refused or answered at once, else filtered by a policy
SERVICE_ACCOUNT_SECONDS = 30  # the controller-manager creates a new namespace's default ServiceAccount


class Scratch:
    def __init__(self, kube: Kube, name: str, image: str):
        self.kube, self.name, self.image = kube, name, image

    def create(self, obj: dict) -> dict:
        utils.create_from_dict(self.kube.api, obj, namespace=self.name)
        return obj

    def run_pod(self, name: str, labels: dict | None = None, timeout: float = waits.POD_START_SECONDS,
                **spec_args) -> client.V1Pod:
        """Start a toolbox pod and wait until it runs (and is ready, if it serves a port)."""
        self.create(objects.pod(name, self.image, labels=labels, **spec_args))
        return waits.pod_running(self.kube, self.name, name, timeout)

    def serve_http(self, name: str, labels: dict | None = None, node: str | None = None) -> client.V1Pod:
        return self.run_pod(name, labels=labels or {"app": name}, port=8080, node=node,
                            command=["python3", "-m", "http.server", "8080", "--bind", "0.0.0.0"])

    def sleeper(self, name: str, labels: dict | None = None, node: str | None = None) -> client.V1Pod:
        return self.run_pod(name, labels=labels or {"app": name}, command=["sleep", "600"], node=node)

    def exec(self, pod: str, command: list[str], timeout: float = waits.EXEC_SECONDS) -> waits.ExecResult:
        return waits.exec_in_pod(self.kube, self.name, pod, command, timeout=timeout)

    def can_connect(self, pod: str, host: str, port: int, timeout: int = CONNECT_SECONDS) -> bool:
        """A TCP connect from inside `pod`; False on refusal or timeout."""
        result = self.exec(pod, ["nc", "-z", "-w", str(timeout), host, str(port)], timeout=timeout + waits.EXEC_OVERHEAD_SECONDS)
        return result.exit_code == 0


@contextmanager
def scratch_namespace(kube: Kube, prefix: str, image: str, pod_security: str | None = "restricted") -> Iterator[Scratch]:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    kube.core.create_namespace(objects.namespace(name, pod_security, labels={"ms5harness/scratch": "true"}))
    try:
        waits.poll(f"default service account in {name}",
                   lambda: kube.core.read_namespaced_service_account("default", name), lambda _: True,
                   SERVICE_ACCOUNT_SECONDS, 0.5)
        yield Scratch(kube, name, image)
    finally:
        kube.core.delete_namespace(name, grace_period_seconds=0, propagation_policy="Background")
