"""The HPA's scale-out broken into phases, the stepped load's windows and the capacity: pure logic."""

from __future__ import annotations

import pytest

from ms5harness import slo
from ms5harness.errors import HarnessError
from ms5harness.kube.autoscaling import Observation, PodTimes, Timeline, scale_out, utilisation
from ms5harness.load.steps import StepResult, SteppedResult, SteppedRun, parse_steps

STEP = 1000.0  # the load step's start


def timeline(observations, pods) -> Timeline:
    return Timeline(hpa="ms5-backend", min_replicas=2, max_replicas=4, targets={"cpu": 70.0}, scale_down_window=30,
                    observations=observations, pods={p.name: p for p in pods})


def seen(at: float, replicas: int, desired: int, cpu: float) -> Observation:
    return Observation(at, replicas, desired, {"cpu": cpu})


OLD = [PodTimes("backend-a", 0, 1, 20, 21), PodTimes("backend-b", 0, 1, 20, 21)]


def test_a_scale_out_is_broken_into_its_phases():
    observed = [seen(STEP - 1, 2, 2, 30), seen(STEP + 5, 2, 2, 60), seen(STEP + 12.4, 2, 2, 90),  # over 70 x 1.1
                seen(STEP + 18.2, 2, 3, 95), seen(STEP + 30, 3, 3, 80)]
    new = PodTimes("backend-c", created=STEP + 18, scheduled=STEP + 19, ready=STEP + 26, serving=STEP + 27.1)
    found = scale_out(timeline(observed, [*OLD, new]), STEP, STEP + 60)
    assert (found.metric_lag, found.decision, found.scheduling, found.readiness, found.serving) == (12.4, 5.8, 0.8, 7.0, 1.1)
    assert found.total == pytest.approx(27.1) and found.pod == "backend-c"
    assert (found.replicas_before, found.replicas_after) == (2, 3)


def test_no_scale_out_when_the_hpa_never_asked_for_more():
    observed = [seen(STEP - 1, 2, 2, 30), seen(STEP + 10, 2, 2, 75), seen(STEP + 50, 2, 2, 76)]
    assert scale_out(timeline(observed, OLD), STEP, STEP + 60) is None


def test_no_scale_out_until_a_new_pod_has_served():
    """Asked for, even scheduled, is not scaled out: the new replica must be in the Service's endpoints."""
    observed = [seen(STEP - 1, 2, 2, 30), seen(STEP + 20, 2, 3, 95)]
    pending = PodTimes("backend-c", created=STEP + 20, scheduled=STEP + 21, ready=None, serving=None)
    assert scale_out(timeline(observed, [*OLD, pending]), STEP, STEP + 60) is None


def test_a_scale_out_decided_in_another_step_is_not_this_steps():
    observed = [seen(STEP - 1, 2, 2, 30), seen(STEP + 70, 2, 3, 95)]
    new = PodTimes("backend-c", created=STEP + 70, scheduled=STEP + 71, ready=STEP + 78, serving=STEP + 79)
    assert scale_out(timeline(observed, [*OLD, new]), STEP, STEP + 60) is None


def test_whole_second_stamps_never_make_a_phase_negative():
    """Kubernetes stamps conditions in whole seconds: a pod 'scheduled' before the poll that saw the decision."""
    observed = [seen(STEP - 1, 2, 2, 30), seen(STEP + 10.6, 2, 3, 95)]
    new = PodTimes("backend-c", created=STEP + 10, scheduled=STEP + 10, ready=STEP + 17, serving=STEP + 18.2)
    found = scale_out(timeline(observed, [*OLD, new]), STEP, STEP + 60)
    assert min(found.metric_lag, found.decision, found.scheduling, found.readiness, found.serving) >= 0
    assert found.total == pytest.approx(18.2)


def test_utilisation_is_usage_over_requests_of_the_counted_pods():
    metrics = [{"metadata": {"name": "a"}, "containers": [{"usage": {"cpu": "40m", "memory": "100Mi"}}]},
               {"metadata": {"name": "b"}, "containers": [{"usage": {"cpu": "20000000n", "memory": "50Mi"}}]},
               {"metadata": {"name": "not-ready"}, "containers": [{"usage": {"cpu": "500m"}}]}]
    requests = {"a": {"cpu": 0.05, "memory": 200 * 2**20}, "b": {"cpu": 0.05, "memory": 200 * 2**20}}
    assert utilisation(metrics, requests) == pytest.approx({"cpu": 60.0, "memory": 37.5})


@pytest.mark.parametrize("text", ["10", "40,10", "10,x", "0,10", "10,10000", ",".join(map(str, range(1, 11)))])
def test_steps_must_be_a_short_rising_bounded_list(text):
    with pytest.raises(HarnessError, match="--steps"):
        parse_steps(text)


def test_each_step_is_judged_after_the_ramp_of_the_users_it_added():
    run = SteppedRun(stack=None, out_dir=None, steps=(10, 40, 80), step_seconds=60, spawn_rate=5)
    run.started = STEP
    # ramp: new users / spawn rate, then RAMP_SETTLE_SECONDS (5) for their logins
    assert run.windows() == [(10, STEP + 7, STEP + 60), (40, STEP + 71, STEP + 120), (80, STEP + 133, STEP + 180)]


def step(users: int, met: bool) -> StepResult:
    figures = slo.Figures(requests=100.0, failures=0.0)
    return StepResult(users, 0, 10, figures, figures, [slo.Verdict("clients p95", 0.1, "< 0.2", met)])


def test_the_capacity_is_the_last_step_before_the_first_that_broke_an_objective():
    result = SteppedResult([step(10, True), step(40, True), step(80, False), step(120, True)], 30,
                           timeline([], []))
    assert result.capacity.users == 40 and result.capacity.requests_per_second == 10
    assert SteppedResult([step(10, False)], 30, timeline([], [])).capacity is None
