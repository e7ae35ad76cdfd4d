"""The pipeline's generic runner: steps are data, every outcome is recorded whatever a step raises,
steps whose needs failed are shown as not run, teardown and report run after a failure too, and
the exit status is 0 only when everything held."""

import json

import pytest

from ms5harness import objectives, pipeline
from ms5harness.errors import HarnessError
from ms5harness.resilience import plan as plan_mod


@pytest.fixture
def run(tmp_path):
    shipped = plan_mod.load(None, objectives.load("local"))
    return pipeline.Nightly("nightly-20261201T000000Z", tmp_path / "run", None, "local", "ms5", shipped, 1, [],
                            echo=lambda _line: None)


def step(name, action, needs=(), always=False):
    return pipeline.StepSpec(name, action, needs, always)


def passed_experiment(run):
    run.experiments.append({"name": "db-failover", "service": "postgres", "weight": 1, "score": 100, "passed": True})
    return "1 experiment passed"


def test_every_step_passed_and_every_gate_held_exits_0(run):
    assert pipeline.execute(run, (step("cluster", lambda r: "up"), step("resilience", passed_experiment, ("cluster",)))) == 0
    summary = json.loads((run.directory / "summary.json").read_text())
    assert [(s["name"], s["outcome"]) for s in summary["steps"]] == [("cluster", "passed"), ("resilience", "passed")]
    assert summary["passed"] and summary["schema_version"] == 1 and summary["services"][0]["score"] == 100


def test_no_experiment_judged_is_not_a_pass(run):
    assert pipeline.execute(run, (step("cluster", lambda r: "up"),)) == 1


def test_a_crash_is_recorded_dependents_are_not_run_and_teardown_still_runs(run):
    def boom(_run):
        raise KeyError("kubeconfig")

    torn = []
    code = pipeline.execute(run, (step("cluster", lambda r: "up"), step("deploy", boom, ("cluster",)),
                                  step("suites", lambda r: "ok", ("deploy",)),
                                  step("teardown", lambda r: torn.append(1) or "down", ("cluster",), always=True)))
    outcomes = {s.name: (s.outcome, s.detail) for s in run.steps}
    assert code == 1 and torn == [1]
    assert outcomes["deploy"] == ("failed", "KeyError: 'kubeconfig'")
    assert outcomes["suites"] == ("not run", "needs deploy")
    assert "KeyError" in (run.directory / "deploy.traceback.txt").read_text()


def test_a_harness_error_is_its_one_line(run):
    def refuse(_run):
        raise HarnessError("no kubeconfig", "pass --kubeconfig")

    pipeline.execute(run, (step("cluster", refuse),))
    assert run.steps[0].detail == "no kubeconfig (fix: pass --kubeconfig)"


def test_an_interrupt_runs_only_the_steps_that_always_run(run):
    def interrupt(_run):
        raise KeyboardInterrupt

    code = pipeline.execute(run, (step("cluster", lambda r: "up"), step("resilience", interrupt, ("cluster",)),
                                  step("more", lambda r: "x"), step("teardown", lambda r: "down", always=True)))
    assert code == 130
    assert [(s.name, s.outcome) for s in run.steps] == [("cluster", "passed"), ("resilience", "interrupted"),
                                                        ("more", "not run"), ("teardown", "passed")]


def test_the_nightly_steps_run_the_plan_after_the_suites_and_report_last():
    names = [s.name for s in pipeline.STEPS]
    assert names == ["cluster", "deploy", "suites", "resilience", "teardown", "report"]
    assert {s.name for s in pipeline.STEPS if s.always} == {"teardown", "report"}
    assert [s.name for s in pipeline.PLAN_ONLY] == ["cluster", "resilience", "report"]


def test_a_bad_repeat_or_plan_stops_before_any_step(tmp_path):
    with pytest.raises(HarnessError, match="--repeat 0"):
        pipeline.nightly(None, "local", "ms5", repeat=0)
    with pytest.raises(HarnessError, match="no plan at"):
        pipeline.nightly(None, "local", "ms5", plan_path=str(tmp_path / "absent.yaml"))


def test_a_need_that_is_not_part_of_the_run_is_no_obstacle(run):
    """`ms5harness resilience` runs the plan against a stack deployed before: no deploy step to wait for."""
    steps = (step("cluster", lambda r: "up"), step("resilience", passed_experiment, ("cluster", "deploy")))
    assert pipeline.execute(run, steps) == 0


@pytest.mark.parametrize("selection", ["tests/unit", "suites/test_no_such_suite.py", "/etc"])
def test_a_suites_selection_outside_suites_is_refused_in_one_line(selection):
    with pytest.raises(HarnessError) as err:
        pipeline.nightly(None, "local", "ms5", suites=[selection], echo=lambda line: None)
    assert f"--suites {selection}: not a file or directory under suites/" in err.value.one_line()
