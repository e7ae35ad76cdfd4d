"""The report's comparison with the previous run of the same kind."""

import json
from pathlib import Path

from ms5harness.reports import comparison
from ms5harness.reports.html import write_report


def junit(run: Path, name: str, outcomes: dict[str, str]) -> None:
    run.mkdir(parents=True, exist_ok=True)
    tag = {"failed": "<failure message='boom'/>", "error": "<error message='boom'/>", "skipped": "<skipped/>"}
    cases = "".join(f"<testcase classname='suites.test_x' name='{test}' time='1'>{tag.get(outcome, '')}</testcase>"
                    for test, outcome in outcomes.items())
    (run / f"junit-{name}.xml").write_text(f"<testsuites><testsuite>{cases}</testsuite></testsuites>")


def slo(run: Path, met: bool, value: float) -> None:
    (run / "load").mkdir(parents=True, exist_ok=True)
    (run / "load" / "slo.json").write_text(json.dumps(
        {"users": 10, "seconds": 60, "client_requests": 500, "client_failures": 0, "prometheus_requests": 500,
         "verdicts": [{"objective": "latency p95", "value": value, "target": "< 0.2s", "met": met}]}))


def test_the_previous_run_is_the_newest_earlier_one_of_the_same_kind(tmp_path):
    for name in ("nightly-20261124T020000Z", "nightly-20261125T020000Z", "20261125T230000Z",
                 "nightly-20261127T020000Z", "nightly-20261126T010000Z"):
        junit(tmp_path / name, "suites", {"a": "passed"})
    (tmp_path / "nightly-20261126T015000Z").mkdir()  # a run that left no results
    now = tmp_path / "nightly-20261126T020000Z"
    assert comparison.previous_run(now) == tmp_path / "nightly-20261126T010000Z"
    assert comparison.previous_run(tmp_path / "20261126T000000Z") == tmp_path / "20261125T230000Z"
    assert comparison.previous_run(tmp_path / "nightly-20261101T000000Z") is None
    assert comparison.previous_run(tmp_path / "latest") is None


def test_regressions_recoveries_and_new_failures(tmp_path):
    before, now = tmp_path / "nightly-20261125T020000Z", tmp_path / "nightly-20261126T020000Z"
    junit(before, "suites", {"keeps": "passed", "breaks": "passed", "heals": "failed", "skips": "skipped"})
    junit(now, "suites", {"keeps": "passed", "breaks": "error", "heals": "passed", "skips": "failed", "new": "failed"})
    c = comparison.compare(now, before)
    assert c.regressed == ["suites.test_x::breaks"]
    assert c.recovered == ["suites.test_x::heals"]
    assert c.new_failures == ["suites.test_x::new"]
    assert c.worse


def test_a_service_level_that_was_met_and_is_now_breached_is_worse(tmp_path):
    before, now = tmp_path / "20261125T020000Z", tmp_path / "20261126T020000Z"
    junit(before, "faults", {"load": "passed"})
    junit(now, "faults", {"load": "passed"})
    slo(before, True, 0.012)
    slo(now, False, 0.31)
    c = comparison.compare(now, before)
    assert c.levels == [("steady load: latency p95", 0.012, 0.31, "breached")]
    assert c.worse and not c.regressed
    page = write_report(now, "run").read_text()
    assert "<h2>Since the previous run</h2>" in page and "worse than 20261125T020000Z" in page
    assert "<td>0.012</td><td>0.31</td><td>breached</td>" in page


def test_an_unchanged_run_is_no_regression_and_a_first_run_has_no_section(tmp_path):
    before, now = tmp_path / "20261125T020000Z", tmp_path / "20261126T020000Z"
    junit(before, "suites", {"a": "passed", "b": "failed"})
    assert "Since the previous run" not in write_report(before, "first").read_text()
    junit(now, "suites", {"a": "passed", "b": "failed"})
    assert not comparison.compare(now, before).worse
    assert "no regression against 20261125T020000Z" in write_report(now, "run").read_text()
