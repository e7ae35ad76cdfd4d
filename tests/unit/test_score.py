"""The resilience score: weighted gates as Krkn weighs them, minus the budget burned under the fault
and the time recovery ran late; services average their experiments by plan weight."""

import pytest

from ms5harness.resilience import score


def gates(*held_and_weight):
    return [{"passed": held, "weight": weight} for held, weight in held_and_weight]


def test_all_gates_held_on_time_without_burn_is_100():
    assert score.experiment_score(gates((True, 3), (True, 1)), True, 0.0, 10, 30) == 100


def test_a_failed_critical_gate_weighs_three_warnings():
    assert score.experiment_score(gates((False, 3), (True, 1)), True, 0.0, 10, 30) == 25
    assert score.experiment_score(gates((True, 3), (False, 1)), True, 0.0, 10, 30) == 75


def test_burn_at_the_paging_rate_costs_ten_points_and_is_capped():
    assert score.experiment_score(gates((True, 3)), True, 14.4, 10, 30) == 90
    assert score.experiment_score(gates((True, 3)), True, 1000, 10, 30) == 80


def test_late_or_no_recovery_is_penalised():
    assert score.experiment_score(gates((True, 3)), True, 0, 45, 30) == 90  # 50 % late: half of 20
    assert score.experiment_score(gates((True, 3)), True, 0, None, 30) == 80


def test_an_unjudged_experiment_scores_zero():
    assert score.experiment_score(gates((True, 3)), False, 0, 0, 30) == 0
    assert score.experiment_score([], True, 0, 0, 30) == 0


def test_service_score_is_the_weighted_mean_of_its_experiments():
    runs = [{"name": "a", "service": "pg", "score": 100, "weight": 3, "passed": True},
            {"name": "b", "service": "pg", "score": 60, "weight": 1, "passed": False},
            {"name": "c", "service": "redis", "score": 80, "weight": 1, "passed": True}]
    assert score.services(runs) == [
        {"service": "pg", "experiments": ["a", "b"], "score": 90.0, "passed": False},
        {"service": "redis", "experiments": ["c"], "score": 80.0, "passed": True}]


def test_repeats_give_pass_rate_and_spread():
    runs = [{"name": "a", "score": s, "passed": p} for s, p in ((100, True), (80, True), (60, False))]
    (row,) = score.repeats(runs)
    assert (row["runs"], row["passed"], row["pass_rate"], row["score_mean"]) == (3, 2, 0.667, 80)
    assert row["score_stdev"] == pytest.approx(16.3, abs=0.1) and (row["score_min"], row["score_max"]) == (60, 100)


def test_the_formula_is_documented():
    assert "critical 3" in score.FORMULA and "14.4" in score.FORMULA
