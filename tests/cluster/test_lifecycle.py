"""`cluster up` on a running cluster changes nothing."""

import pytest

pytestmark = pytest.mark.cluster


def test_up_twice_is_a_no_op(target):
    if target.embedded is None:
        pytest.skip("lifecycle commands manage the embedded cluster only")
    from ms5harness.cluster.embedded import NAMES
    from ms5harness.target import machine_lock

    cluster = target.embedded
    before = {n: cluster.pid_of(n) for n in NAMES}
    assert all(before.values()), f"components not running: {[n for n, p in before.items() if not p]}"
    with machine_lock():
        cluster.up()
    assert {n: cluster.pid_of(n) for n in NAMES} == before


def test_status_reports_every_component_healthy(target):
    if target.embedded is None:
        pytest.skip("status covers the embedded cluster only")
    rows = target.embedded.status()
    assert {r["state"] for r in rows} <= {"healthy", "available"}, rows
