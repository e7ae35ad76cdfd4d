"""Monitoring: every scrape target up, SLI rules produce values, an alert travels to the webhook,
and every dashboard panel is valid PromQL with data."""

import json
import re
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from ms5harness.kube.waits import poll

# The critical route waits 10 s (group_wait) before its first notification; a failed send is retried
# within this too. It is also how long a cut-off receiver takes to turn the test red.
ALERT_DELIVERED_SECONDS = 60


@pytest.fixture(scope="module")
def prometheus(stack):
    with httpx.Client(base_url=stack.url("prometheus"), timeout=15) as client:
        yield client


@pytest.fixture(scope="module", autouse=True)
def some_traffic(stack):
    """Requests of every kind, so rate() based rules and panels have samples to work on."""
    token = stack.admin_token()
    with stack.api() as api:
        auth = {"Authorization": f"Bearer {token}"}
        for path in ("/health", "/api/v1/dashboard/summary", "/api/v1/dashboard/lines", "/api/v1/production/lines",
                     "/api/v1/andon/events/active", "/api/v1/no-such-route"):
            for _ in range(5):
                api.get(path, headers=auth)


def query(prometheus, expr: str) -> list:
    body = prometheus.get("/api/v1/query", params={"query": expr}).json()
    assert body["status"] == "success", f"{expr!r}: {body.get('error')}"
    return body["data"]["result"]


def test_every_scrape_target_is_up(prometheus):
    def targets():
        return prometheus.get("/api/v1/targets", params={"state": "active"}).json()["data"]["activeTargets"]

    found = poll("all targets up", targets, lambda ts: ts and all(t["health"] == "up" for t in ts), timeout=120,
                 interval=5, summary=lambda ts: [(t["labels"].get("job"), t["health"], t.get("lastError")) for t in ts
                                                 if t["health"] != "up"])
    jobs = {t["labels"]["job"] for t in found}
    for expected in ("backend", "celery-worker", "postgres", "redis"):
        assert any(expected in job for job in jobs), f"no scrape job for {expected}: {sorted(jobs)}"


def test_backup_monitor_reads_the_backup_store(prometheus):
    """ms5-backup-monitor lists the backup store (in the cluster locally, off it on AKS): its egress and
    credentials work, so MS5PostgresBackupTooOld/Missing judge real data."""
    expr = 'ms5_backup_store_up{job="backup-monitor"}'
    poll("the backup monitor lists the store", lambda: query(prometheus, expr),
         lambda r: r and float(r[0]["value"][1]) == 1, timeout=180, interval=10)


def recording_rules(prometheus, group_pattern: str) -> list[str]:
    groups = prometheus.get("/api/v1/rules", params={"type": "record"}).json()["data"]["groups"]
    return [r["name"] for g in groups if re.search(group_pattern, g["name"]) for r in g["rules"]]


def test_sli_recording_rules_return_values(prometheus):
    names = recording_rules(prometheus, "sli")
    assert len(names) >= 6, f"expected the SLI rules (availability, latency, errors, throughput...), got {names}"
    empty = poll("every SLI rule has a value", lambda: [n for n in names if not query(prometheus, n)],
                 lambda missing: not missing, timeout=180, interval=10)
    assert empty == []


def test_a_test_alert_reaches_alertmanager_and_its_webhook(stack):
    marker = f"HarnessProbe{uuid.uuid4().hex[:8]}"
    now = datetime.now(timezone.utc)
    alert = [{"labels": {"alertname": marker, "severity": "critical", "service": "harness"},
              "annotations": {"summary": "test alert from the verification suite"},
              "startsAt": now.isoformat(), "endsAt": (now + timedelta(minutes=5)).isoformat()}]
    with httpx.Client(base_url=stack.url("alertmanager"), timeout=10) as am:
        assert am.post("/api/v2/alerts", json=alert).status_code == 200
        listed = am.get("/api/v2/alerts", params={"filter": f"alertname={marker}"}).json()
        assert listed, "alertmanager did not keep the alert"
    with httpx.Client(base_url=stack.url("alert-webhook"), timeout=10) as hook:
        poll("alert delivered to the webhook", lambda: hook.get("/alerts").text, lambda text: marker in text,
             timeout=ALERT_DELIVERED_SECONDS, interval=5, summary=lambda text: text[-300:])


GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h", "${__rate_interval}": "5m"}


def dashboard_queries(stack) -> dict[str, str]:
    found = {}
    for cm in stack.kube.core.list_namespaced_config_map(stack.namespace).items:
        for key, text in (cm.data or {}).items():
            if not key.endswith(".json") or '"panels"' not in text:
                continue
            for panel in json.loads(text)["panels"]:
                for i, target in enumerate(panel.get("targets") or []):
                    if target.get("expr"):
                        found[f"{key} / {panel.get('title')} #{i}"] = target["expr"]
    return found


def test_every_dashboard_panel_query_is_valid_and_returns_data(stack, prometheus):
    queries = dashboard_queries(stack)
    assert len(queries) >= 10, f"found only {len(queries)} panel queries in the provisioned dashboards"

    def expand(expr: str) -> str:
        for var, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(var, value)
        return re.sub(r"\$\{?\w+\}?", ".*", expr)  # template variables select everything

    for title, expr in queries.items():
        query(prometheus, expand(expr))  # asserts the PromQL is valid
    empty = poll("every panel has data", lambda: [t for t, e in queries.items() if not query(prometheus, expand(e))],
                 lambda missing: not missing, timeout=180, interval=15)
    assert empty == []
