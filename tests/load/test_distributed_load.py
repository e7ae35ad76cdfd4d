"""Load from pods in the cluster (`ms5harness load --workers 2`): Locust's master and two workers on
the embedded cluster, through the entry point's cluster DNS name. The workers' merged request logs
hold exactly the master's total, the backend counted them as it counts the local run's, the SLOs
hold, and every pod, Service and policy the run created is gone afterwards."""

import os
from pathlib import Path

import pytest

from ms5harness import names, objectives
from ms5harness.load import distributed
from ms5harness.verify.stack import Stack

pytestmark = [pytest.mark.cluster, pytest.mark.faults]


def test_two_workers_in_the_cluster_meet_the_slos_and_leave_nothing(target, settle, request, tmp_path):
    settle()
    namespace = request.config.getoption("--namespace")
    stack = Stack(target, namespace, request.config.getoption("--profile"))
    try:
        result = distributed.run(stack, Path(os.environ.get("MS5H_RUN_DIR") or tmp_path) / "load-distributed",
                                 workers=2, users=10, seconds=45)
    finally:
        stack.close()
    print("\n".join(result.lines()))
    selector = names.load_selector()
    left = [*target.kube.core.list_namespaced_pod(namespace, label_selector=selector).items,
            *target.kube.core.list_namespaced_service(namespace, label_selector=selector).items,
            *target.kube.networking.list_namespaced_network_policy(namespace, label_selector=selector).items]
    assert not left, f"the run left {[o.metadata.name for o in left]}"
    assert result.workers == 2 and result.master_requests == result.logged_requests > 0, \
        "the workers' logs do not hold the master's requests"
    assert result.client_requests >= 150, "too little load to judge anything"
    assert result.counted, "Prometheus did not count the load's requests: the verdicts would describe other traffic"
    edge = result.client_requests / result.seconds * 2 * objectives.scrape_seconds(stack.profile)
    assert result.prometheus_requests <= result.client_requests + edge, "the backend counted other traffic"
    assert result.passed, "\n".join(result.lines())
