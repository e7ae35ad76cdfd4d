"""A deployed MS5 stack, seen from a test: its pods, services, secrets and entry point.

Every lookup fails loudly when it finds nothing (a selector matching no pod, a
service without a node port), so a suite can never pass by checking an empty set.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

import httpx
from kubernetes import client

from ms5harness import chart, names
from ms5harness.errors import HarnessError, NothingFound
from ms5harness.images.catalog import project_images
from ms5harness.kube.portforward import Forward
from ms5harness.kube.secrets import secret_value
from ms5harness.kube.waits import EXEC_OVERHEAD_SECONDS, EXEC_SECONDS, ExecResult, exec_in_pod, port_number
from ms5harness.names import COMPONENT
from ms5harness.target import Target

ENTRY_POINT = "nginx"  # the component the floor, the suites and the load reach the stack by
API_SECONDS = 10  # one request of a suite to the API; it answers in milliseconds when healthy
CONNECT_SECONDS = 2  # a TCP connect between the stack's pods: refused or answered at once, else filtered


def container_port(pod: client.V1Pod, port: client.V1ServicePort) -> int:
    """The pod port a Service port sends to (its targetPort may name a container port)."""
    try:
        return port_number(pod, port.port if port.target_port is None else port.target_port)
    except LookupError as err:
        raise NothingFound(str(err)) from None


@dataclass
class Stack:
    target: Target
    namespace: str
    profile: str
    entry_url: str | None = None  # the entry point's public URL (https://<host> where nginx terminates TLS)
    forwards: dict[str, Forward] = field(default_factory=dict)

    @property
    def kube(self):
        return self.target.kube

    def pods(self, component: str) -> list[client.V1Pod]:
        pods = [p for p in self.kube.core.list_namespaced_pod(self.namespace, label_selector=names.component_selector(component)).items
                if p.status.phase == "Running" and p.metadata.deletion_timestamp is None]
        if not pods:
            raise NothingFound(f"no running pod of component {component!r} in namespace {self.namespace}")
        return pods

    def exec(self, component: str, command: list[str], timeout: float = EXEC_SECONDS,
             pod: client.V1Pod | None = None) -> ExecResult:
        """Run a command in the component's main (first) container."""
        pod = pod or self.pods(component)[0]
        return exec_in_pod(self.kube, self.namespace, pod.metadata.name, command,
                           container=pod.spec.containers[0].name, timeout=timeout)

    def connects(self, component: str, host: str, port: int, timeout: int = CONNECT_SECONDS) -> bool:
        """A TCP connect from inside the component's pod (bash /dev/tcp: every image has bash)."""
        script = f"exec 3<>/dev/tcp/{shlex.quote(host)}/{int(port)}"
        result = self.exec(component, ["timeout", str(timeout), "bash", "-c", script], timeout=timeout + EXEC_OVERHEAD_SECONDS)
        if result.exit_code not in (0, 1, 124):
            raise AssertionError(f"probe from {component} could not run: exit {result.exit_code} {result.stderr.strip()}")
        return result.exit_code == 0

    def service(self, name: str) -> client.V1Service:
        return self.kube.core.read_namespaced_service(names.object_name(name), self.namespace)

    def services(self) -> list[client.V1Service]:
        found = self.kube.core.list_namespaced_service(
            self.namespace, label_selector=names.release_selector()).items
        if not found:
            raise NothingFound(f"no services of release {names.RELEASE} in {self.namespace}")
        return found

    def url(self, service: str) -> str:
        """Where the harness reaches a service from outside: its load balancer, a NodePort on
        127.0.0.1 (embedded cluster), else a port-forward to one of its pods (ClusterIP on AKS)."""
        if service == ENTRY_POINT and self.entry_url:
            return self.entry_url.rstrip("/")
        svc = self.service(service)
        port = svc.spec.ports[0]
        if svc.spec.type == "LoadBalancer" and service == ENTRY_POINT and any(p.name == "https" for p in svc.spec.ports):
            raise HarnessError(f"service {svc.metadata.name} serves HTTPS (its plain HTTP port only redirects)",
                               "give the entry point's public URL: --entry-url https://<the dashboard's host>")
        if svc.spec.type == "LoadBalancer":
            ingress = (svc.status.load_balancer.ingress or [None])[0]
            if ingress is None:
                raise NothingFound(f"service {svc.metadata.name} has no load-balancer address yet")
            return f"http://{ingress.ip or ingress.hostname}:{port.port}"
        if port.node_port and self.target.embedded is not None:
            return f"http://127.0.0.1:{port.node_port}"
        if service not in self.forwards:
            pod = self.pods(svc.spec.selector[COMPONENT])[0]
            self.forwards[service] = Forward(self.kube, self.namespace, pod.metadata.name, container_port(pod, port))
        return f"http://127.0.0.1:{self.forwards[service].local_port}"

    def project_image(self, key: str) -> str:
        """One of the project's images (images/<key>), where this cluster's pods can run it: built and
        imported on the embedded node, else in the profile's registry (pushed there, docs/aks.md)."""
        (image,) = [i for i in project_images() if i.key == key]
        return self.target.ensure_image(image, chart.image_registry(self.profile))

    def toolbox_image(self) -> str:
        """The harness's probe image."""
        return self.project_image("toolbox")

    def close(self) -> None:
        for forward in self.forwards.values():
            forward.close()

    def secret(self, key: str) -> str:
        return secret_value(self.kube, self.namespace, key)

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url("nginx"), timeout=API_SECONDS)

    def admin_token(self) -> str:
        with self.api() as api:
            resp = api.post(names.LOGIN_PATH, json=names.login(self.secret(names.ADMIN_PASSWORD_KEY)))
            resp.raise_for_status()
            return resp.json()["access_token"]
