"""slo.counted under promtool: a series born inside the window counts from zero, also when it went
stale before the window's end (the autoscaling run's new replica left the endpoints under load and its
405 requests read as none), and a series older than the window counts by its increase."""

from __future__ import annotations

import subprocess

import yaml

from ms5harness import slo

from chart_checks import tool

PROMTOOL_SECONDS = 60


def test_a_born_series_counts_even_when_it_went_stale_before_the_end(tmp_path):
    series = "http_requests_total"
    spec = {"rule_files": [], "evaluation_interval": "15s", "tests": [{
        "interval": "15s",
        "input_series": [
            {"series": f'{series}{{pod="old"}}', "values": "0+10x20"},  # 10 per 15 s from t=0
            {"series": f'{series}{{pod="new"}}', "values": "_x8 5 20 40 stale"},  # born at 120 s, gone at 165 s
        ],
        "promql_expr_test": [{"expr": slo.counted(series, "180s"), "eval_time": "240s",
                              "exp_samples": [{"labels": "{}", "value": 120 + 40}]}],
    }]}
    (tmp_path / "counted.yaml").write_text(yaml.safe_dump(spec))
    proc = subprocess.run([tool("promtool"), "test", "rules", "counted.yaml"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=PROMTOOL_SECONDS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
