"""The report's sections: each experiment's verdict and measurements, the load run's SLO verdicts."""

import json

from ms5harness.reports.html import write_report

JOURNAL = {"experiment": {"title": "Writes survive a primary failure"}, "status": "completed", "deviated": False,
           "duration": 97.4, "run": [
               {"activity": {"name": "kill-the-postgres-primary"}, "status": "succeeded", "output": ["ms5-postgres-1"]},
               {"activity": {"name": "andon-writes-while-it-fails-over"}, "status": "succeeded",
                "output": {"attempts": 90, "failures": 3, "longest_outage_seconds": 3.0}}]}


def test_journals_become_a_chaos_section(tmp_path):
    (tmp_path / "journals").mkdir()
    (tmp_path / "journals" / "db-failover.json").write_text(json.dumps(JOURNAL))
    (tmp_path / "journals" / "net.json").write_text(json.dumps({**JOURNAL, "deviated": True}))
    page = write_report(tmp_path, "run").read_text()
    assert "<h2>Chaos experiments</h2>" in page
    assert "Writes survive a primary failure" in page and "&#34;failures&#34;: 3" in page
    assert "<td>completed</td>" in page and "<td>deviated</td>" in page


def test_no_journals_no_section(tmp_path):
    assert "Chaos experiments" not in write_report(tmp_path, "run").read_text()


def test_the_load_runs_verdicts_become_a_section(tmp_path):
    (tmp_path / "load").mkdir()
    (tmp_path / "load" / "slo.json").write_text(json.dumps({
        "users": 10, "seconds": 60.2, "client_requests": 480, "client_failures": 0, "prometheus_requests": 479.0,
        "verdicts": [{"objective": "latency p95", "value": 0.012, "target": "< 0.2s", "met": True},
                     {"objective": "availability", "value": None, "target": ">= 0.999", "met": False}]}))
    page = write_report(tmp_path, "run").read_text()
    assert "<h2>Service levels under load</h2>" in page and "480 requests" in page
    assert "<td>0.012</td>" in page and "<td>no data</td><td>&gt;= 0.999</td><td>BREACHED</td>" in page
