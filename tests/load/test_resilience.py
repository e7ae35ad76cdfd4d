"""A Postgres primary failover under the floor's load: the experiment's hypothesis holds, no
acknowledged Andon event is lost, and the window's SLO verdicts and error-budget burn are reported
(the 99.9 % objective is over 30 days: one failover window is judged by its burn, not gated)."""

import os
from pathlib import Path

import pytest

from ms5harness import resilience
from ms5harness.verify.stack import Stack

pytestmark = [pytest.mark.cluster, pytest.mark.faults]


def test_db_failover_under_load(target, settle, request, tmp_path):
    settle()
    stack = Stack(target, request.config.getoption("--namespace"), request.config.getoption("--profile"))
    try:
        result = resilience.under_load(stack, "db-failover", Path(os.environ.get("MS5H_RUN_DIR") or tmp_path))
    finally:
        stack.close()
    print("\n".join(result.lines()))
    assert result.load.client_requests >= 300, "too little load to say anything about the failover"
    assert result.hypothesis_held, result.lines()
    assert result.lost_writes == [], f"acknowledged Andon events lost in the failover: {result.lost_writes}"
