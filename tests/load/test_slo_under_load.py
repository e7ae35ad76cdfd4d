"""Under the floor's load the stack meets its SLOs (99.9 % availability, p95 < 200 ms, < 1 % errors)
as the clients saw them and as the backend counted them over exactly the run's window; on a fresh
stack too, where the handlers' series are born during the run."""

import os
from pathlib import Path

import pytest

from ms5harness import load, objectives
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
    assert result.counted, "Prometheus did not count the load's requests: the verdicts would describe other traffic"
    # A series born just before the window and first scraped inside it counts whole: at most a scrape
    # interval or two of load beyond the window's start. Anything more is traffic the load never made.
    edge = result.client_requests / result.seconds * 2 * objectives.scrape_seconds(stack.profile)
    assert result.prometheus_requests <= result.client_requests + edge, "the backend counted other traffic"
    assert result.passed, "\n".join(result.lines())
