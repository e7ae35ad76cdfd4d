"""The HTML reports come from autoescaped templates; the nightly report, its trends and its JUnit file
from a recorded summary.json."""

import base64
import copy
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from jinja2 import UndefinedError

from ms5harness.reports import templating, trends
from ms5harness.reports.html import write_report
from ms5harness.reports.junit_out import write_gates_junit
from ms5harness.reports.nightly import write_nightly_report

SUMMARY = json.loads((Path(__file__).parent / "data" / "nightly-summary.json").read_text())
HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
PNG = "data:image/png;base64,"


def summary() -> dict:
    return copy.deepcopy(SUMMARY)


def section(page: str, heading: str) -> str:
    """The page from an <h2> to the next one."""
    start = page.index(f"<h2>{heading}</h2>")
    end = page.find("<h2>", start + 1)
    return page[start:] if end < 0 else page[start:end]


def nightly_run(root: Path, run_id: str, **changes) -> Path:
    run = root / run_id
    run.mkdir(parents=True)
    (run / "summary.json").write_text(json.dumps({**summary(), "run_id": run_id, **changes}))
    return run


def test_the_nightly_report_leads_with_the_scorecard_then_one_chart_and_gates_table_per_experiment(tmp_path):
    page = write_nightly_report(tmp_path, summary(), []).read_text()
    assert page.index("<h2>Scorecard</h2>") < page.index("<h2>Experiments</h2>") < page.index("<h2>Pipeline</h2>")
    scorecard = section(page, "Scorecard")
    assert '<td>postgres</td><td>90.9</td><td>db-failover</td><td><span class="failed">FAILED</span></td>' in scorecard
    assert "<td>redis</td><td>100.0</td>" in scorecard
    assert "never fired" in scorecard and "<td>no data</td>" in scorecard  # db-failover's time to detect: null
    assert "40 of 40 completed" in scorecard

    experiments = section(page, "Experiments")
    charts = re.findall(r'<img class="chart experiment" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', experiments)
    assert len(charts) == len(SUMMARY["experiments"]) == 2
    assert all(base64.b64decode(c).startswith(b"\x89PNG") for c in charts)
    db, redis = experiments.split('<h3 id="redis-failover-1">')
    gates = db[db.index('<table class="gates">'):]
    assert gates.index("alert MS5PostgresNoPrimary fired within 90s") < gates.index("fault error ratio &lt; 0.05")
    assert gates.count("FAILED") == 1 and gates.count(">passed<") == 4
    assert "clients 0.0102, entry point 0.0101, server 0" in gates
    assert "85 acknowledged writes, 0 lost." in db and "tasks submitted" not in db
    assert "120 acknowledged writes, 0 lost; 40 tasks submitted, 40 completed." in redis
    assert '<td>entry point</td>\n<td colspan="6" class="nodata">not measured</td>' in redis  # a null side
    assert "alert MS5ErrorRateBudgetBurnFast fired (critical, unexpected)" in db and "Readiness probe failed" in db

    assert '<td>teardown</td><td><span class="not-run">not run</span></td>' in section(page, "Pipeline")
    assert "<h2>Trends</h2>" not in page  # no earlier run to compare with
    assert not re.search(r'(?:src|href)="(?!data:|#)', page)  # self-contained: nothing to fetch
    assert len(page) < 400_000


def test_with_history_the_report_shows_the_trends_of_the_earlier_runs_and_this_one(tmp_path):
    before = [{**trends.point(summary()), "run_id": f"nightly-202611{day}T221500Z",
               "time": SUMMARY["started"] - 86400 * days_ago} for days_ago, day in ((2, 29), (1, 30))]
    before[0]["scores"]["postgres"] = None
    page = write_nightly_report(tmp_path, summary(), before).read_text()
    trend = section(page, "Trends")
    assert trend.count('<img class="chart trend" src="data:image/png;base64,') == 3
    assert re.findall(r"<h3>(.*?)</h3>", trend) == [
        "Score per service", "Clients&#39; p95 under fault", "Time to recover"]
    rows = re.findall(r"<tr><td>(nightly-\w+)</td>", trend)
    assert rows == ["nightly-20261129T221500Z", "nightly-20261130T221500Z", "nightly-20261201T221500Z"] * 3
    assert '<tr><td>nightly-20261129T221500Z</td><td><span class="failed">FAILED</span></td><td>no data</td>' in trend
    assert "<td>0.41 s</td><td>0.088 s</td>" in trend and "<td>14.0 s</td><td>9.0 s</td>" in trend


def test_repeated_experiments_get_a_pass_rate_table(tmp_path):
    s = summary()
    s["plan"]["repeat"] = 3
    s["repeats"] = [{"experiment": "db-failover", "runs": 3, "passed": 2, "pass_rate": 0.667, "score_mean": 80.1,
                     "score_stdev": 6.2, "score_min": 72.5, "score_max": 88.0}]
    page = write_nightly_report(tmp_path, s, []).read_text()
    assert "<td>db-failover</td><td>3</td><td>2</td><td>66.7 %</td>" in page and "80.1 &plusmn; 6.2" in page
    assert "Repeated experiments" not in write_nightly_report(tmp_path, summary(), []).read_text()


def test_hostile_strings_in_a_summary_come_out_escaped(tmp_path):
    s = summary()
    s["experiments"][0]["title"] = HOSTILE
    s["experiments"][0]["gates"][0]["detail"] = HOSTILE
    s["experiments"][0]["events"][0]["message"] = HOSTILE
    s["steps"][0]["detail"] = HOSTILE
    s["services"][0]["service"] = HOSTILE
    page = write_nightly_report(tmp_path, s, []).read_text()
    assert HOSTILE not in page and "<script" not in page
    assert page.count(ESCAPED) == 5


def test_hostile_strings_in_test_results_and_journals_come_out_escaped(tmp_path):
    (tmp_path / "junit-suites.xml").write_text(
        "<testsuites><testsuite><testcase classname='suites.test_x' name='&lt;script&gt;alert(1)&lt;/script&gt;'>"
        "<failure message='&lt;script&gt;alert(1)&lt;/script&gt;'/></testcase></testsuite></testsuites>")
    (tmp_path / "journals").mkdir()
    (tmp_path / "journals" / "x.json").write_text(json.dumps({"experiment": {"title": HOSTILE}, "status": "completed"}))
    page = write_report(tmp_path, "run", [{"name": "deploy", "outcome": "failed", "seconds": 3.0, "detail": HOSTILE}])
    text = page.read_text()
    assert HOSTILE not in text and text.count(ESCAPED) == 4  # test name, failure, journal title, step detail
    assert "<h2>Pipeline</h2>" in text and "<h2>Chaos experiments</h2>" in text


def test_the_templates_are_strict_and_show_what_was_not_measured_as_no_data():
    with pytest.raises(UndefinedError):
        templating.ENVIRONMENT.from_string("{{ missing }}").render()
    assert templating.ENVIRONMENT.get_template("base.html.j2").render(title=HOSTILE).count(ESCAPED) == 2
    assert [templating.number(None), templating.seconds(None), templating.percent(None)] == ["no data"] * 3
    assert [templating.number(0), templating.seconds(14), templating.percent(0.667)] == ["0", "14.0 s", "66.7 %"]
    assert templating.measured(0.019, "p95") == "0.019 s" and templating.measured(12345, "writes_lost") == "12,345"


def test_trends_are_the_last_14_usable_nightly_runs_before_this_one_newest_last(tmp_path):
    ids = [f"nightly-202611{day:02}T221500Z" for day in range(1, 21)]
    for i, run_id in enumerate(ids):
        nightly_run(tmp_path, run_id, started=SUMMARY["started"] + i)
    (tmp_path / ids[-2] / "summary.json").write_text('{"schema_version": 1, "run_id": "nightly-2026')  # cut short
    (tmp_path / ids[-5] / "summary.json").write_text(json.dumps({**summary(), "services": [{"service": "x"}]}))
    (tmp_path / ids[-7] / "summary.json").write_text(json.dumps({**summary(), "schema_version": 2}))
    (tmp_path / ids[-8] / "summary.json").write_bytes(b"\xff\xfe not utf-8")
    nightly_run(tmp_path, "nightly-20261201T221500Z")  # this run
    nightly_run(tmp_path, "nightly-20261202T221500Z")  # a later one
    (tmp_path / "20261125T020000Z").mkdir()  # a test run, not a nightly one

    found = trends.history(tmp_path, "nightly-20261201T221500Z")
    usable = [r for r in ids if r not in (ids[-2], ids[-5], ids[-7], ids[-8])]
    assert [p["run_id"] for p in found] == usable[-14:]
    assert [p["time"] for p in found] == sorted(p["time"] for p in found)
    assert found[-1] == {"run_id": ids[-1], "time": SUMMARY["started"] + 19, "passed": False,
                         "scores": {"postgres": 90.9, "redis": 100.0},
                         "fault_p95": {"db-failover": 0.41, "redis-failover": 0.088},
                         "time_to_recover": {"db-failover": 14.0, "redis-failover": 9.0},
                         "capacity": {}, "scale_out": {}}
    assert len(trends.history(tmp_path, "nightly-20261201T221500Z", limit=3)) == 3


def test_a_repeated_experiment_trends_with_its_worst_attempt():
    s = summary()
    second = copy.deepcopy(s["experiments"][0])
    second["attempt"], second["time_to_recover"] = 2, 31.0
    second["phases"][1]["clients"] = None
    s["experiments"].append(second)
    s["experiments"][1]["time_to_recover"] = None
    point = trends.point(s)
    assert point["time_to_recover"] == {"db-failover": 31.0, "redis-failover": None}
    assert point["fault_p95"] == {"db-failover": 0.41, "redis-failover": 0.088}


def test_the_gates_junit_has_a_testcase_per_gate_and_marks_the_failed_ones(tmp_path):
    path = write_gates_junit(tmp_path / "junit-nightly.xml", summary())
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites" and root.get("tests") == "11" and root.get("failures") == "2"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["db-failover attempt 1", "redis-failover attempt 1", "pipeline"]
    for suite, experiment in zip(suites, SUMMARY["experiments"]):
        cases = suite.findall("testcase")
        assert [(c.get("classname"), c.get("name")) for c in cases] == [
            (experiment["name"], g["name"]) for g in experiment["gates"]]
        failed = {c.get("name"): c.find("failure").get("message") for c in cases if c.find("failure") is not None}
        assert failed == {g["name"]: g["detail"] for g in experiment["gates"] if not g["passed"]}
        assert suite.get("tests") == str(len(cases)) and suite.get("failures") == str(len(failed))
    steps = {c.get("name"): c for c in suites[2].findall("testcase")}
    assert set(steps) == {"resilience", "teardown"}
    assert steps["resilience"].find("failure").get("message") == "1 of 2 experiments failed: db-failover"
    assert steps["teardown"].find("skipped").get("message") == "not run"


def test_an_attempt_that_failed_with_every_gate_passed_is_not_green_in_junit(tmp_path):
    s = summary()
    s["experiments"][1].update(passed=False, reason="chaos exit 1: the method failed\x1b[31m")
    root = ET.parse(write_gates_junit(tmp_path / "junit-nightly.xml", s)).getroot()
    redis = root.findall("testsuite")[1]
    verdict = [c for c in redis.findall("testcase") if c.get("name") == "verdict"]
    assert len(verdict) == 1 and verdict[0].find("failure").get("message") == "chaos exit 1: the method failed?[31m"
    assert redis.get("failures") == "1"


STEPPED = {"capacity": {"users": 40, "requests_per_second": 31.5}, "within_seconds": 30.0, "scale_out_users": 40,
           "scale_out": {"metric_lag": 14.2, "decision": 6.1, "scheduling": 0.4, "readiness": 7.0, "serving": 0.9,
                         "replicas_before": 2, "replicas_after": 3, "total": 28.6},
           "problems": [], "steps": [
               {"users": u, "requests_per_second": rps, "met": met, "clients": {"p95": p95, "failures": 0},
                "server": {"p95": p95}} for u, rps, met, p95 in ((10, 8.1, True, 0.02), (40, 31.5, True, 0.09),
                                                                 (80, 44.0, False, 0.61))]}


def test_a_stepped_load_shows_its_capacity_its_scale_out_by_phase_and_trends_them(tmp_path):
    s = summary()
    s["experiments"][0]["capacity"] = STEPPED
    page = write_nightly_report(tmp_path, s, []).read_text()
    assert ("<b>Capacity:</b> 40 users, 31.5 requests/s through the entry point with every objective held" in page)
    assert ("in 28.6 s (objective 30.0 s): metric lag 14.2 s, HPA decision 6.1 s, scheduling 0.4 s, readiness 7.0 s, "
            "into the endpoints 0.9 s." in page)
    assert "<tr><td>80</td><td>44.0</td>" in page
    point = trends.point(s)
    assert point["capacity"] == {"db-failover": 31.5} and point["scale_out"] == {"db-failover": 28.6}
    s["experiments"][0]["capacity"] = {**STEPPED, "capacity": None, "scale_out": None}
    assert trends.point(s)["capacity"] == {"db-failover": 0.0} and trends.point(s)["scale_out"] == {"db-failover": None}
    assert "not even the first step held its objectives" in write_nightly_report(tmp_path, s, []).read_text()
