"""Every experiment is valid Chaos Toolkit input and cannot leave a fault behind: it declares the
rollback control and the ledger rollback, and its faults are actions of ms5harness.chaos."""

import importlib
import json
from pathlib import Path

import pytest
from chaoslib.experiment import ensure_experiment_is_valid
from chaoslib.loader import load_experiment

from ms5harness.chaos.api.probes import DEFAULT_API_URL
from ms5harness.names import DEFAULT_NAMESPACE
from ms5harness.paths import REPO_ROOT

EXPERIMENTS = sorted((REPO_ROOT / "experiments").glob("*.json"))


def test_the_failovers_and_the_partition_exist():
    assert {"db-failover.json", "redis-failover.json", "network-partition.json", "object-store-restart.json", "worker-kill.json"} <= {p.name for p in EXPERIMENTS}


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_experiment_is_valid_and_always_rolls_back(path: Path):
    ensure_experiment_is_valid(load_experiment(str(path)))
    doc = json.loads(path.read_text())
    assert [c["provider"]["module"] for c in doc["controls"]] == ["ms5harness.chaos.control"]
    assert any(r["provider"].get("func") == "rollback" and r["provider"]["module"] == "ms5harness.chaos.ledger"
               for r in doc["rollbacks"])
    for activity in doc["method"]:
        provider = activity["provider"]
        if activity["type"] == "action":
            assert provider["type"] == "python" and provider["module"].startswith("ms5harness.chaos."), activity["name"]


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_experiment_defaults_are_the_harness_defaults(path: Path):
    """Chaos Toolkit reads the defaults from the JSON; they must be the harness's one constant each."""
    configuration = json.loads(path.read_text())["configuration"]
    assert configuration["namespace"]["default"] == DEFAULT_NAMESPACE
    assert configuration["api_url"]["default"] == DEFAULT_API_URL


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_every_activity_an_experiment_calls_is_exported(path: Path):
    doc = json.loads(path.read_text())
    for activity in [*doc["steady-state-hypothesis"]["probes"], *doc["method"], *doc["rollbacks"]]:
        provider = activity["provider"]
        if provider["type"] == "python" and provider["module"].endswith((".actions", ".probes")):
            assert provider["func"] in importlib.import_module(provider["module"]).__all__, activity["name"]


def test_a_run_whose_steady_state_was_never_met_is_marked_failed():
    """Chaos Toolkit ends such a run "completed", not deviated, with no method run: a pass that judged nothing."""
    from ms5harness.chaos import control

    journal = {"status": "completed", "deviated": False, "run": [],
               "steady_states": {"before": {"steady_state_met": False}, "after": None}}
    assert "never ran" in control.why_not_held(journal)
    assert control.why_not_held({**journal, "steady_states": {"before": {"steady_state_met": True}}}) is None


def test_a_run_whose_method_bound_failed_is_marked_failed():
    """Chaos Toolkit judges tolerances only in the steady state: a bound the method checks (query_within)
    that fails would otherwise leave the run "completed" and `chaos run` exiting 0."""
    from ms5harness.chaos import control

    met = {"before": {"steady_state_met": True}, "after": {"steady_state_met": True}}
    runs = [{"activity": {"name": "start-the-fault"}, "status": "succeeded"},
            {"activity": {"name": "p95-while-it-runs-below-1s"}, "status": "failed"}]
    reason = control.why_not_held({"status": "completed", "deviated": False, "run": runs, "steady_states": met})
    assert reason == "method activities failed: p95-while-it-runs-below-1s"
    assert control.why_not_held({"status": "completed", "run": runs[:1], "steady_states": met}) is None
