"""Under the floor's load the stack meets its SLOs (99.9 % availability, p95 < 200 ms, < 1 % errors),
judged by Prometheus over exactly the run's window; Locust and Prometheus see the same traffic."""

import os
from pathlib import Path

import pytest

from ms5harness import load
from ms5harness.verify.stack import Stack

pytestmark = [pytest.mark.cluster, pytest.mark.faults]


def test_steady_load_meets_the_slos(target, settle, request, tmp_path):
    settle()
    stack = Stack(target, request.config.getoption("--namespace"), request.config.getoption("--profile"))
    try:
        result = load.run(stack, Path(os.environ.get("MS5H_RUN_DIR") or tmp_path) / "load", users=10, seconds=60)
    finally:
        stack.close()
    print("\n".join(result.lines()))
    assert result.client_requests >= 200, "too little load to judge anything"
    assert result.prometheus_requests is not None and result.prometheus_requests >= 0.9 * result.client_requests, \
        "Prometheus did not count the load's requests: the verdicts would describe other traffic"
    assert result.passed, "\n".join(result.lines())
