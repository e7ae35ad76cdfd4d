"""Probes and /metrics need no token; metrics use route templates, never raw paths."""

import re
import uuid


def test_liveness_answers_without_dependencies(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readiness_checks_every_dependency(client):
    response = client.get("/health/detailed")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "healthy"
    assert set(body["checks"]) == {"database", "redis", "object_storage", "celery"}
    assert all(check["status"] == "ok" for check in body["checks"].values())


def test_metrics_expose_slo_series_with_route_templates(client, admin, line_id):
    client.get(f"/api/v1/oee/lines/{uuid.uuid4()}/current", headers=admin)
    client.get("/api/v1/dashboard/summary", headers=admin)
    client.get("/no/such/path")
    text = client.get("/metrics").text
    for name in ("http_requests_total", "http_request_duration_seconds_bucket", "ms5_websocket_active_connections",
                 "ms5_db_query_duration_seconds_bucket", "celery_queue_length", "ms5_cache_misses_total"):
        assert name in text, name
    assert 'handler="/api/v1/oee/lines/{line_id}/current"' in text
    assert 'handler="unmatched"' in text
    assert not re.search(r'handler="[^"]*[0-9a-f]{8}-[0-9a-f]{4}-', text), "raw path leaked into a label"
    assert re.search(r'celery_queue_length\{queue="reports"\} \d', text)
    assert float(re.search(r"^ms5_db_query_duration_seconds_count ([0-9.e+]+)$", text, re.MULTILINE).group(1)) > 0


def test_cors_allows_only_configured_origins(client):
    preflight = {"Access-Control-Request-Method": "POST"}
    allowed = client.options("/api/v1/auth/login", headers={**preflight, "Origin": "http://tablet.local"})
    assert allowed.headers["access-control-allow-origin"] == "http://tablet.local"
    denied = client.options("/api/v1/auth/login", headers={**preflight, "Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in denied.headers
