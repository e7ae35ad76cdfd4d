"""Reach a pod's port from this machine through the API server, as `kubectl port-forward` does.

On AKS the monitoring services are ClusterIP only: the suites reach Prometheus, AlertManager
and the alert webhook this way, with nothing but the kubeconfig and no open firewall.
"""

from __future__ import annotations

import selectors
import socket
import threading

from kubernetes import client
from kubernetes.stream import portforward

from ms5harness.kube.client import Kube

POLL_SECONDS = 0.5  # how often the accept and relay loops look whether the forward was closed


class Forward:
    """A listener on 127.0.0.1:<local_port>; every accepted connection gets its own API stream."""

    def __init__(self, kube: Kube, namespace: str, pod: str, port: int):
        self.kube, self.namespace, self.pod, self.port = kube, namespace, pod, port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(POLL_SECONDS)
        self.local_port = self.listener.getsockname()[1]
        self.closed = threading.Event()
        threading.Thread(target=self._accept, name=f"forward {pod}:{port}", daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._relay, args=(conn,), daemon=True).start()

    def _relay(self, conn: socket.socket) -> None:
        # kubernetes.stream swaps the ApiClient's request method while it opens a stream: on a
        # shared client, concurrent opens would leave every later API call going to a websocket.
        api = client.CoreV1Api(client.ApiClient(self.kube.api.configuration))
        stream = portforward(api.connect_get_namespaced_pod_portforward, self.pod, self.namespace,
                             ports=str(self.port))
        remote = stream.socket(self.port)
        peers = {conn: remote, remote: conn}
        with selectors.DefaultSelector() as sel:
            for s in peers:
                sel.register(s, selectors.EVENT_READ)
            try:
                while not self.closed.is_set():
                    for key, _ in sel.select(timeout=POLL_SECONDS):
                        data = key.fileobj.recv(65536)
                        if not data:
                            return
                        peers[key.fileobj].sendall(data)
            except OSError:
                return
            finally:
                conn.close()
                stream.close()
                api.api_client.close()

    def close(self) -> None:
        self.closed.set()
        self.listener.close()
