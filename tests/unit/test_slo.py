"""SLO verdicts: the plan's targets, the window in every query, and no data never passing."""

import pytest

from ms5harness.slo import OBJECTIVES, judge

BY_NAME = {o.name: o for o in OBJECTIVES}


def test_the_plans_targets():
    assert (BY_NAME["availability"].target, BY_NAME["latency p95"].target, BY_NAME["error ratio"].target) == \
        (0.999, 0.2, 0.01)


@pytest.mark.parametrize("objective", OBJECTIVES, ids=lambda o: o.name)
def test_every_query_covers_exactly_the_window(objective):
    promql = objective.promql(150)
    assert "[150s]" in promql and "{window}" not in promql


@pytest.mark.parametrize("name,value,met", [
    ("availability", 0.9995, True), ("availability", 0.998, False),
    ("latency p95", 0.150, True), ("latency p95", 0.200, False),
    ("error ratio", 0.0, True), ("error ratio", 0.02, False),
])
def test_verdicts(name, value, met):
    assert judge(BY_NAME[name], value).met is met


@pytest.mark.parametrize("objective", OBJECTIVES, ids=lambda o: o.name)
def test_no_data_is_a_breach(objective):
    verdict = judge(objective, None)
    assert not verdict.met and "no data" in verdict.line()
