"""A pod port reached from this machine through the API server alone (how the suites reach
ClusterIP services on AKS)."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from ms5harness.kube.portforward import Forward


def test_requests_reach_the_pod_through_the_forward(kube, scratch):
    server = scratch.serve_http("server")
    forward = Forward(kube, scratch.name, server.metadata.name, 8080)
    try:
        url = f"http://127.0.0.1:{forward.local_port}/"
        with ThreadPoolExecutor(4) as pool:  # concurrent connections each get their own stream
            codes = list(pool.map(lambda _: httpx.get(url, timeout=10).status_code, range(8)))
        assert codes == [200] * 8
    finally:
        forward.close()
    with pytest.raises(httpx.TransportError):  # closed: nothing listens any more
        httpx.get(url, timeout=3)
