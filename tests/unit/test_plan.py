"""The nightly plan: the shipped plan is valid, defaults come from the chart's SLOs, and every
mistake is one line naming the entry and the fix."""

import textwrap

import pytest

from ms5harness import objectives
from ms5harness.resilience import plan

SLOS = objectives.load("local")


def write(tmp_path, body: str, experiments=("db-failover",)):
    for name in experiments:
        (tmp_path / f"{name}.json").write_text("{}")
    path = tmp_path / "plan.yaml"
    path.write_text(textwrap.dedent(body))
    return path


def error(tmp_path, body: str) -> str:
    with pytest.raises(plan.PlanError) as caught:
        plan.load(write(tmp_path, body), SLOS)
    line = caught.value.one_line()
    assert "\n" not in line and "(fix: " in line
    return line


def test_the_shipped_plan_lists_every_experiment():
    shipped = plan.load(None, SLOS)
    files = {p.name for p in plan.DEFAULT_PLAN.parent.glob("*.json")}
    assert {e.file.name for e in shipped.entries} == files, "an experiment in experiments/ never runs at night"


def test_baseline_and_recovery_default_to_the_chart_slos(tmp_path):
    (entry,) = plan.load(write(tmp_path, """
        experiments:
          - {name: db-failover, service: postgres}
    """), SLOS).entries
    bounds = {t.measure: t.bound for t in entry.gates["recovery"]}
    assert bounds == {"availability": SLOS.availability, "error_ratio": SLOS.error_ratio, "p95": SLOS.latency_p95,
                      "db_query_p95": SLOS.db_query_p95}
    assert entry.alert is None and entry.gate_weight == 3


def test_entry_overrides_defaults_key_by_key(tmp_path):
    (entry,) = plan.load(write(tmp_path, """
        defaults:
          load: {users: 20, baseline: 1m}
          gates: {fault: {error_ratio: 0.1}}
        experiments:
          - name: db-failover
            service: postgres
            severity: warning
            load: {fault: 1m30s}
            alert: {name: MS5PostgresNoPrimary, within: 90s}
            gates: {fault: {p95: 500ms, availability: null}}
    """), SLOS).entries
    assert (entry.load.users, entry.load.baseline, entry.load.fault, entry.load.recovery) == (20, 60, 90, 60)
    assert {t.measure: t.bound for t in entry.gates["fault"]} == {"error_ratio": 0.1, "p95": 0.5,
                                                                   "db_query_p95": SLOS.db_query_p95}
    assert entry.alert == plan.Alert("MS5PostgresNoPrimary", 90) and entry.gate_weight == 1


@pytest.mark.parametrize("body,expected", [
    ("experiments:\n  - {name: db-failover, service: postgres, alrt: {}}\n",
     "experiments[0] (db-failover): unknown key 'alrt'"),
    ("experiments:\n  - {name: nowhere, service: postgres}\n",
     "experiments[0] (nowhere): experiment file nowhere.json does not exist"),
    ("experiments:\n  - {name: db-failover, service: postgres, load: {fault: 30 sec}}\n",
     "experiments[0] (db-failover).load.fault: '30 sec' is not a duration"),
    ("experiments:\n  - {name: db-failover, service: postgres, gates: {fault: {error_ratio: 5}}}\n",
     "experiments[0] (db-failover).gates.fault.error_ratio: 5 is not a ratio"),
    ("experiments:\n  - {name: db-failover}\n", "experiments[0] (db-failover): missing key 'service'"),
    ("experiments:\n  - {name: db-failover, service: postgres, severity: high}\n", "'high' is not a severity"),
    ("experiments:\n  - {name: db-failover, service: postgres, alert: {name: X}}\n", "needs both name and within"),
    ("experiments: []\n", "no experiments listed"),
    ("experiment:\n  - {name: db-failover}\n", "unknown key 'experiment'"),
    ("experiments:\n  - {name: db-failover, service: a}\n  - {name: db-failover, service: b}\n", "listed twice"),
    ("experiments:\n  - name: [db-failover\n", "is not valid YAML at line"),
])
def test_mistakes_are_one_line_naming_the_entry(tmp_path, body, expected):
    assert expected in error(tmp_path, body)


def test_recovery_must_outlast_the_hold_and_the_sli_window(tmp_path):
    path = write(tmp_path, """
        experiments:
          - {name: db-failover, service: postgres, hold: 30s, load: {recovery: 40s}}
    """)
    assert plan.load(path, SLOS, sli_window=10).entries[0].load.recovery == 40
    with pytest.raises(plan.PlanError, match=r"recovery: 40s cannot show .* \(fix: make it at least 50s\)"):
        plan.load(path, SLOS, sli_window=20)


def test_the_baseline_must_outlast_the_ramp(tmp_path):
    """20 users at 2/s take 10 s to spawn (+5 s to settle): a 20 s baseline would judge 5 s."""
    path = write(tmp_path, """
        experiments:
          - {name: db-failover, service: postgres, load: {users: 20, spawn_rate: 2, baseline: 20s}}
    """)
    with pytest.raises(plan.PlanError, match=r"baseline: 20s leaves less than 10s after the 15s ramp"):
        plan.load(path, SLOS)


def test_only_keeps_the_named_entries_and_refuses_unknown_ones(tmp_path):
    path = write(tmp_path, """
        experiments:
          - {name: db-failover, service: postgres}
          - {name: worker-kill, service: celery}
    """, experiments=("db-failover", "worker-kill"))
    assert [e.name for e in plan.load(path, SLOS, only=["worker-kill"]).entries] == ["worker-kill"]
    with pytest.raises(plan.PlanError, match="--only redis: no such entry"):
        plan.load(path, SLOS, only=["redis"])


def test_a_missing_plan_file_is_one_line(tmp_path):
    with pytest.raises(plan.PlanError, match="no plan at"):
        plan.load(tmp_path / "absent.yaml", SLOS)


@pytest.mark.parametrize("text,seconds", [("30s", 30), ("2m", 120), ("1m30s", 90), ("500ms", 0.5), (45, 45)])
def test_durations(text, seconds):
    assert plan.seconds(text, "x") == seconds


@pytest.mark.parametrize("text", ["0s", "-5", "soon", "", True, None])
def test_bad_durations(text):
    with pytest.raises(plan.PlanError):
        plan.seconds(text, "x")


def test_the_latency_experiments_are_planned_with_the_gates_their_hypothesis_states():
    entries = {e.name: e for e in plan.load(None, SLOS).entries}
    db, redis = entries["db-latency"], entries["redis-latency"]
    assert (db.service, redis.service) == ("postgres", "redis")
    assert db.load.fault == redis.load.fault == 60
    # a silent database answers 503s, so only the backend's 10 s command timeout bounds the fault phase
    assert {t.measure: t.bound for t in db.gates["fault"]} == {"p95": 10.5}
    # a silent Redis costs 4 s per request (1 s timeout, one retry, two commands); some requests fail
    assert {t.measure: t.bound for t in redis.gates["fault"]} == {"p95": 5.5}
    assert db.recover_within == redis.recover_within == 120


def test_the_plan_says_how_many_nodes_the_embedded_cluster_gets(tmp_path):
    """The node experiments need a node to move to: the shipped plan asks for two; a plan without the
    key keeps the cluster as it is, and a count that is no count is one line."""
    assert plan.load(None, SLOS).nodes == 2
    assert plan.load(write(tmp_path, "experiments:\n  - {name: db-failover, service: postgres}\n"), SLOS).nodes is None
    assert "nodes" in error(tmp_path, "nodes: 0\nexperiments:\n  - {name: db-failover, service: postgres}\n")
