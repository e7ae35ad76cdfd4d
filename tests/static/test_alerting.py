"""Alerting as the chart renders it: every Alertmanager route reaches a receiver with a target (the
in-cluster webhook locally, the deploy's receivers on AKS, which refuses to render without them), and
the SLO alerts behave: promtool unit tests (tests/static/promtool/*.yaml) against the rendered rules."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from ms5harness import chart, objectives
from ms5harness.errors import HarnessError

from chart_checks import configmap_data, tool

PROMTOOL_TESTS = Path(__file__).parent / "promtool"
PROMTOOL_SECONDS = 120  # one `promtool test rules` file (about 20 s here)
AMTOOL_SECONDS = 30  # one `amtool config routes test`
OUTAGE_STARTS = 360  # minutes: outage.yaml's six healthy hours
PAGE_SLACK = 3  # minutes a page may come after its bound: evaluation steps and rate()'s extrapolation
# Rule files by the name the promtool tests give them -> their ConfigMap key in the render.
RULE_FILES = {"alerts.yml": "ms5-prometheus-config/alerts.yml", "sli.yml": "ms5-prometheus-rules-sli/sli.yml",
              "slo.yml": "ms5-prometheus-rules-slo/slo.yml", "backup.yml": "ms5-prometheus-rules-backup/backup.yml"}
# Alertmanager 0.25's notifier kinds: a receiver without one of these notifies no one.
TARGETS = ("webhook_configs", "email_configs", "pagerduty_configs", "opsgenie_configs", "slack_configs",
           "victorops_configs", "pushover_configs", "wechat_configs", "sns_configs", "telegram_configs",
           "discord_configs", "webex_configs")
AKS_REQUIRED = ("alertmanager.receivers.critical.webhookUrl", "alertmanager.receivers.warning.webhookUrl",
                "alertmanager.receivers.deadMan.webhookUrl")


def alertmanager_config(profile: str) -> dict:
    return yaml.safe_load(configmap_data(profile)["ms5-alertmanager-config/alertmanager.yml"])


def routes(route: dict, inherited: str | None = None):
    """(route, the receiver it notifies) for a route and every route below it (a child inherits its parent's)."""
    receiver = route.get("receiver", inherited)
    yield route, receiver
    for child in route.get("routes", []):
        yield from routes(child, receiver)


@pytest.mark.parametrize("profile", chart.PROFILES)
def test_every_route_reaches_a_receiver_with_a_target(profile):
    conf = alertmanager_config(profile)
    receivers = {r["name"]: r for r in conf["receivers"]}
    walked = list(routes(conf["route"]))
    for route, name in walked:
        assert name in receivers, f"route {route.get('matchers')} names no existing receiver ({name})"
        assert any(receivers[name].get(kind) for kind in TARGETS), f"receiver {name} has no target"
    first = conf["route"]["routes"][0]
    assert first["receiver"] == "dead-man" and first["matchers"] == ['alertname="MS5Watchdog"'], "the Watchdog goes first"
    assert {name for _, name in walked} == {"default", "dead-man", "critical", "warning", "info"}
    urls = {name: receivers[name]["webhook_configs"][0]["url"] for name in ("critical", "dead-man")}
    if profile == "local":  # the harness reads alerts from the in-cluster webhook, by receiver path
        assert urls == {"critical": "http://ms5-alert-webhook:8080/critical", "dead-man": "http://ms5-alert-webhook:8080/dead-man"}
    else:  # the deploy's --set values, not the webhook
        given = chart.example_values(profile)
        assert urls == {"critical": given["alertmanager.receivers.critical.webhookUrl"],
                        "dead-man": given["alertmanager.receivers.deadMan.webhookUrl"]}


@pytest.mark.parametrize("profile", chart.PROFILES)
def test_amtool_routes_each_alert_to_its_receiver(profile, tmp_path):
    """Alertmanager's own route matching (amtool), not the structure alone: the Watchdog goes to the dead man."""
    amtool = tool("amtool")
    path = tmp_path / "alertmanager.yml"
    path.write_text(configmap_data(profile)["ms5-alertmanager-config/alertmanager.yml"])
    for labels, receiver in ((["alertname=MS5Watchdog", "severity=info"], "dead-man"),
                             (["alertname=MS5BackendDown", "severity=critical"], "critical"),
                             (["alertname=MS5TargetDown", "severity=warning"], "warning"),
                             (["alertname=MS5AndonCriticalEvent", "severity=info"], "info"),
                             (["alertname=Unlabelled"], "default")):
        proc = subprocess.run([amtool, "config", "routes", "test", f"--config.file={path}", *labels],
                              capture_output=True, text=True, timeout=AMTOOL_SECONDS)
        assert proc.stdout.strip() == receiver, (labels, proc.stdout, proc.stderr)


@pytest.mark.parametrize("key", AKS_REQUIRED)
def test_aks_profile_without_a_receiver_is_refused_naming_the_key(key):
    values = {k: v for k, v in chart.example_values("aks").items() if k != key}
    with pytest.raises(HarnessError) as refused:
        chart.render("aks", values)
    assert refused.value.cause == f"values rejected by the chart schema: {key}: required (empty)"


def test_aks_profile_alone_is_refused_on_one_line():
    with pytest.raises(HarnessError) as refused:
        chart.render("aks")
    line = refused.value.one_line()
    assert "\n" not in line and all(key in line for key in AKS_REQUIRED), line


# --- SLO alerts under promtool -----------------------------------------------------------------------


def rendered_alerts() -> dict[str, dict]:
    data = configmap_data("aks")
    return {r["alert"]: r for key in RULE_FILES.values() for g in yaml.safe_load(data[key])["groups"]
            for r in g["rules"] if "alert" in r}


def scenario(name: str) -> dict:
    return yaml.safe_load((PROMTOOL_TESTS / name).read_text())


def checks(spec: dict) -> list[dict]:
    return [c for test in spec["tests"] for c in test.get("alert_rule_test", [])]


def minutes(duration: str) -> float:
    return float(duration[:-1]) * {"m": 1, "h": 60, "d": 1440}[duration[-1]]


def page_bound(rule: dict) -> float:
    """Minutes from the start of a total outage to the page: the 1h window holds factor x budget, then `for`."""
    factor, budget = re.search(r":(?:ratio|rate)1h > \((\S+) \* (\S+)\)", rule["expr"]).groups()
    return float(factor) * float(budget) * 60 + minutes(rule["for"])


def test_promtool_scenarios_cover_every_slo_alert():
    """Each burn-rate alert pages (or tickets) under its outage, pages in time, and stays quiet at 0.5 % errors."""
    alerts = rendered_alerts()
    slo_alerts = {name for name, rule in alerts.items() if "slo" in rule["labels"] and "BudgetBurn" in name}
    assert len(slo_alerts) == 8
    outage = checks(scenario("outage.yaml"))
    assert {c["alertname"] for c in outage if c["exp_alerts"]} == slo_alerts
    for c in outage:
        if c["exp_alerts"] and c["alertname"].endswith("Fast"):
            late = minutes(c["eval_time"]) - OUTAGE_STARTS - page_bound(alerts[c["alertname"]])
            assert late <= PAGE_SLACK, f"{c['alertname']} checked {late:.1f} min after it must page"
        elif not c["exp_alerts"]:
            assert minutes(c["eval_time"]) <= OUTAGE_STARTS, f"{c['alertname']} quiet during the outage?"
    quiet = checks(scenario("quiet.yaml"))
    for when in ("1h", "6h", "1d"):
        assert {c["alertname"] for c in quiet if c["eval_time"] == when and not c["exp_alerts"]} == slo_alerts, when
    assert any(c["alertname"] == "MS5Watchdog" and c["exp_alerts"] for c in quiet)
    threshold = objectives.load("aks").latency_p95
    assert f'le="{threshold}"' in (PROMTOOL_TESTS / "outage.yaml").read_text(), "the latency outage uses the SLO's bucket"


@pytest.mark.parametrize("name", sorted(p.name for p in PROMTOOL_TESTS.glob("*.yaml")))
def test_promtool_unit_tests_of_the_rules(name, tmp_path):
    promtool = tool("promtool")
    data = configmap_data("aks")
    spec = scenario(name)
    for file in spec["rule_files"]:
        (tmp_path / file).write_text(data[RULE_FILES[file]])
    alerts = rendered_alerts()
    for check in checks(spec):  # promtool compares annotations too: the rules' own text unless a scenario expands them
        for alert in check["exp_alerts"]:
            alert.setdefault("exp_annotations", alerts[check["alertname"]].get("annotations", {}))
    (tmp_path / name).write_text(yaml.safe_dump(spec, sort_keys=False))
    proc = subprocess.run([promtool, "test", "rules", name], cwd=tmp_path, capture_output=True, text=True,
                          timeout=PROMTOOL_SECONDS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
