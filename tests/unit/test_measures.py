"""What an experiment measured, from a recorded timeline: the hypothesis judged (or not), phases,
time to recover and to detect, and gates that need data from both the clients and the server."""

import pytest

from ms5harness import objectives
from ms5harness.resilience import measures, plan
from ms5harness.slo import Figures, Sample, Threshold

SLOS = objectives.load("local")
T0 = 1_764_600_000.0  # 2025-12-01T14:40:00Z


def iso(t: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(t, tz=timezone.utc).replace(tzinfo=None).isoformat()


def activity(name, kind, start, end, status="succeeded", output=None):
    return {"activity": {"name": name, "type": kind}, "status": status, "start": iso(start), "end": iso(end),
            "output": output}


def journal(before=True, after=True, run=None, status="completed"):
    return {"status": status, "steady_states": {"before": {"steady_state_met": before},
                                                "after": None if after is None else {"steady_state_met": after}},
            "run": run if run is not None else [
                activity("kill", "action", T0 + 30, T0 + 31),
                activity("writes", "probe", T0 + 31, T0 + 91,
                         output={"acknowledged": 58, "lost": ["chaos-1"], "attempts": 60, "failures": 2})],
            "rollbacks": [activity("undo", "action", T0 + 92, T0 + 93)]}


def test_a_run_whose_steady_state_was_never_met_is_not_judged():
    hyp = measures.hypothesis(journal(before=False, after=None, run=[]), chaos_exit=1)
    assert not hyp.judged
    assert "steady state not met before" in hyp.detail and "the method never ran" in hyp.detail


def test_failed_activities_and_a_non_zero_exit_are_named():
    hyp = measures.hypothesis(journal(run=[activity("kill", "action", T0, T0 + 1, status="failed")]), chaos_exit=1)
    assert not hyp.method and "activities failed: kill" in hyp.detail and "exit 1" in hyp.detail


def test_phases_follow_the_journal():
    window = measures.window(journal(), T0, T0 + 200)
    assert window.phases() == {"baseline": (T0, T0 + 30), "fault": (T0 + 30, T0 + 91), "recovery": (T0 + 91, T0 + 200)}
    assert window.rollback_end == T0 + 93
    assert measures.window(journal(run=[]), T0, T0 + 200) is None


def test_a_request_in_flight_during_the_fault_belongs_to_the_fault():
    window = measures.window(journal(), T0, T0 + 200)  # fault from +30 s to +91 s
    made_before_and_failed = Sample(T0 + 29.9, 0.5, True)
    hung_through_and_failed_after = Sample(T0 + 85, 10, True)
    clean = [Sample(T0 + 10, 0.02, False), Sample(T0 + 120, 0.02, False)]
    phases = measures.phase_samples([made_before_and_failed, hung_through_and_failed_after, *clean], window)
    assert phases == {"baseline": [clean[0]], "fault": [made_before_and_failed, hung_through_and_failed_after],
                      "recovery": [clean[1]]}


def test_data_figures_come_from_the_probes_outputs():
    assert measures.data_figures(journal()) == {"writes_acknowledged": 58, "writes_lost": 1,
                                                "tasks_submitted": None, "tasks_completed": None}


def steady(start, end, rate=10, latency=0.02, failing=()):
    """`rate` requests per second; those ending inside a `failing` (start, end) range fail."""
    samples, t = [], start
    while t < end:
        samples.append(Sample(t, latency, any(a <= t < b for a, b in failing)))
        t += 1 / rate
    return samples


def test_time_to_recover_is_when_every_sli_held_for_the_hold_time():
    samples = steady(T0, T0 + 200, failing=[(T0 + 30, T0 + 50)])
    series = {"step": 5, "clients": measures.client_series(samples, T0, T0 + 200, 5, 20), "server": {}}
    states = measures.step_states(series, SLOS)
    # the last failure ends at +50 s; a 20 s trailing window is clean again at +70 s
    assert measures.time_to_recover(states, T0 + 30, hold=30) == 40.0


def test_a_server_breach_delays_recovery_and_no_recovery_is_none():
    samples = steady(T0, T0 + 200)
    clients = measures.client_series(samples, T0, T0 + 200, 5, 20)
    server = {"t": clients["t"], "p95": [0.5 if t < T0 + 100 else 0.02 for t in clients["t"]],
              "error_ratio": [0.0] * len(clients["t"])}
    states = measures.step_states({"step": 5, "clients": clients, "server": server}, SLOS)
    assert measures.time_to_recover(states, T0 + 30, hold=30) == 70.0
    assert measures.time_to_recover(states, T0 + 30, hold=150) is None


def test_time_to_detect_ignores_alerts_from_before_the_fault():
    alerts = [{"name": "MS5PostgresNoPrimary", "starts_at": T0 - 10}, {"name": "Other", "starts_at": T0 + 40},
              {"name": "MS5PostgresNoPrimary", "starts_at": T0 + 95.5}]
    assert measures.time_to_detect(alerts, "MS5PostgresNoPrimary", T0 + 30) == 65.5
    assert measures.time_to_detect(alerts[:2], "MS5PostgresNoPrimary", T0 + 30) is None


def test_a_phase_fails_when_either_side_breaches():
    threshold = Threshold("error_ratio", 0.01)
    clients_saw_it = measures.phase_gate("fault", threshold, {"clients": Figures(error_ratio=0.0102),
                                                               "server": Figures(error_ratio=0.0)}, "critical")
    assert not clients_saw_it.passed and "clients: 0.0102" in clients_saw_it.detail


def test_a_required_side_without_data_fails_and_the_entry_point_is_optional():
    threshold = Threshold("p95", 0.2)
    no_server = measures.phase_gate("baseline", threshold, {"clients": Figures(p95=0.02), "server": Figures(),
                                                            "entry_point": None}, "critical")
    assert not no_server.passed and no_server.detail == "server: no data"
    held = measures.phase_gate("baseline", threshold, {"clients": Figures(p95=0.02), "server": Figures(p95=0.03),
                                                       "entry_point": None}, "critical")
    assert held.passed


def test_the_database_objective_is_judged_on_the_server_alone():
    threshold = Threshold("db_query_p95", 0.1)
    gate = measures.phase_gate("recovery", threshold, {"clients": Figures(p95=0.02), "server": Figures(db_query_p95=0.3),
                                                       "entry_point": Figures(p95=0.02)}, "critical")
    assert not gate.passed and gate.values == {"server": 0.3} and gate.detail == "server: 0.3"


def entry(**overrides):
    data = plan.builtin_defaults(SLOS)
    gates = {p: tuple(Threshold(m, b) for m, b in data["gates"][p].items()) for p in plan.PHASES}
    fields = {"name": "db-failover", "file": None, "service": "postgres", "severity": "critical", "weight": 1.0,
              "load": plan.Load(**data["load"]), "alert": None, "recover_within": 30.0, "hold": 30.0, "gates": gates}
    return plan.Entry(**{**fields, **overrides})


def good_phases():
    clients, server = Figures(100, 0, 1.0, 0.0, 0.01, 0.02), Figures(100, 0, 1.0, 0.0, 0.01, 0.02, 0.004)
    return {p: {"clients": clients, "server": server, "entry_point": None} for p in plan.PHASES}


def test_an_unjudged_run_fails_on_its_hypothesis_alone():
    hyp = measures.hypothesis(journal(before=False, after=None, run=[]), 0)
    result = measures.assess(entry(), hyp, {}, measures.data_figures(journal(run=[])), None, None)
    assert not result.passed and [g.measure for g in result.gates] == ["hypothesis"] * 3


def test_every_gate_of_a_clean_run_holds_and_a_lost_write_fails_it():
    hyp = measures.hypothesis(journal(), 0)
    data = {"writes_acknowledged": 58, "writes_lost": 0, "tasks_submitted": 150, "tasks_completed": 150}
    held = measures.assess(entry(), hyp, good_phases(), data, ttr=12, ttd=None)
    assert held.passed and len(held.gates) == 3 + 12 + 1 + 2
    lost = measures.assess(entry(), hyp, good_phases(), {**data, "writes_lost": 1}, ttr=12, ttd=None)
    assert not lost.passed and "no acknowledged write lost" in lost.reason


@pytest.mark.parametrize("ttd,passed", [(60.0, True), (120.0, False), (None, False)])
def test_the_declared_alert_must_fire_in_time(ttd, passed):
    hyp = measures.hypothesis(journal(), 0)
    result = measures.assess(entry(alert=plan.Alert("MS5PostgresNoPrimary", 90)), hyp, good_phases(),
                             measures.data_figures(journal(run=[])), ttr=12, ttd=ttd)
    (gate,) = [g for g in result.gates if g.measure == "time_to_detect"]
    assert gate.passed is passed
