"""Downtime, equipment status, OEE and the cached dashboard, on real data."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest


def counter(metrics_text, name, labels):
    match = re.search(rf'^{name}\{{{labels}\}} ([0-9.e+]+)$', metrics_text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_downtime_events(client, users, new_line, backend):
    operator = users.headers("operator")
    start = datetime.now(UTC) - timedelta(minutes=30)
    key = backend.unique("dt")
    body = {"line_id": new_line, "reason": "film change", "category": "changeover", "start_time": start.isoformat(),
            "end_time": (start + timedelta(minutes=10)).isoformat(), "client_ref": key}
    created = client.post("/api/v1/downtime/events", headers=operator, json=body)
    assert created.status_code == 201
    assert client.post("/api/v1/downtime/events", headers=operator, json=body).json()["id"] == created.json()["id"]
    listed = client.get("/api/v1/downtime/events", headers=operator, params={"line_id": new_line})
    assert [event["id"] for event in listed.json()] == [created.json()["id"]]
    backwards = client.post("/api/v1/downtime/events", headers=operator,
                            json={**body, "client_ref": None, "end_time": (start - timedelta(1)).isoformat()})
    assert backwards.status_code == 422
    assert client.post("/api/v1/downtime/events", headers=users.headers("viewer"), json=body).status_code == 403


def test_equipment_status_follows_telemetry_and_downtime(client, users, line_id, backend):
    headers = users.headers("viewer")
    backend.db("INSERT INTO metric_hist (ts, line_id, equipment_code, metric_name, value) "
               "VALUES (now(), $1, 'BP01.PACK.BAG1', 'speed', 42)", uuid.UUID(line_id))
    status = {e["equipment_code"]: e for e in client.get("/api/v1/equipment/status", headers=headers).json()}
    assert status["BP01.PACK.BAG1"]["status"] in ("running", "down")
    assert status["BP01.PACK.BAG1"]["line_code"] == "L-BAG1"
    assert client.get("/api/v1/equipment/status", headers=headers, params={"line_id": str(uuid.uuid4())}).json() == []


def test_oee_calculation_from_line_data(client, users, new_line, backend):
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(hours=1)
    line = uuid.UUID(new_line)
    # 10 min down, 1200 parts of which 1140 good, at 2 s ideal cycle.
    backend.db("INSERT INTO downtime_events (line_id, reason, category, start_time, end_time) "
               "VALUES ($1, 'jam', 'unplanned', $2, $3)", line, start + timedelta(minutes=5),
               start + timedelta(minutes=15))
    backend.db("INSERT INTO metric_hist (ts, line_id, metric_name, value) VALUES "
               "($2, $1, 'total_parts', 600), ($3, $1, 'total_parts', 600), ($2, $1, 'good_parts', 1140)",
               line, start + timedelta(minutes=20), start + timedelta(minutes=40))
    engineer = users.headers("engineer")
    response = client.post("/api/v1/oee/calculate", headers=engineer,
                           json={"line_id": new_line, "period_start": start.isoformat(), "period_end": end.isoformat()})
    assert response.status_code == 201, response.text
    oee = response.json()
    assert oee["availability"] == pytest.approx(50 / 60)
    assert oee["performance"] == pytest.approx(2400 / 3000)
    assert oee["quality"] == pytest.approx(0.95)
    assert oee["oee"] == pytest.approx(50 / 60 * 0.8 * 0.95)

    current = client.get(f"/api/v1/oee/lines/{new_line}/current", headers=engineer).json()
    assert current["oee"] == pytest.approx(oee["oee"])
    trends = client.get(f"/api/v1/oee/lines/{new_line}/trends", headers=engineer, params={"bucket": "5m"}).json()
    assert len(trends) == 1 and trends[0]["samples"] == 1
    assert trends[0]["oee"] == pytest.approx(oee["oee"])
    assert f'ms5_oee_score{{line_id="{new_line}"}}' in client.get("/metrics").text


def test_oee_errors(client, users, new_line):
    engineer = users.headers("engineer")
    unknown = str(uuid.uuid4())
    assert client.post("/api/v1/oee/calculate", headers=users.headers("operator"),
                       json={"line_id": new_line}).status_code == 403
    assert client.post("/api/v1/oee/calculate", headers=engineer, json={"line_id": unknown}).status_code == 404
    assert client.get(f"/api/v1/oee/lines/{unknown}/current", headers=engineer).status_code == 404
    assert client.get(f"/api/v1/oee/lines/{new_line}/current", headers=engineer).status_code == 404
    assert client.get(f"/api/v1/oee/lines/{unknown}/trends", headers=engineer).status_code == 404
    assert client.get(f"/api/v1/oee/lines/{new_line}/trends", headers=engineer,
                      params={"bucket": "7m"}).status_code == 422
    now = datetime.now(UTC).isoformat()
    assert client.post("/api/v1/oee/calculate", headers=engineer,
                       json={"line_id": new_line, "period_start": now, "period_end": now}).status_code == 422


def test_dashboard_is_cached_and_invalidated_by_writes(client, users, new_line):
    viewer = users.headers("viewer")
    client.get("/api/v1/dashboard/lines", headers=viewer)
    before = client.get("/metrics").text
    lines = {line["line_id"]: line for line in client.get("/api/v1/dashboard/lines", headers=viewer).json()}
    assert lines[new_line]["status"] == "running"
    after = client.get("/metrics").text
    assert counter(after, "ms5_cache_hits_total", 'cache="lines"') > counter(before, "ms5_cache_hits_total",
                                                                               'cache="lines"')
    summary_before = client.get("/api/v1/dashboard/summary", headers=viewer).json()

    client.post("/api/v1/andon/events", headers=users.headers("operator"),
                json={"line_id": new_line, "event_type": "stop", "priority": "critical", "description": "e-stop"})
    lines = {line["line_id"]: line for line in client.get("/api/v1/dashboard/lines", headers=viewer).json()}
    assert (lines[new_line]["status"], lines[new_line]["active_andon_events"]) == ("stopped", 1)
    summary = client.get("/api/v1/dashboard/summary", headers=viewer).json()
    assert summary["active_andon_events"] == summary_before["active_andon_events"] + 1
    assert summary["total_lines"] >= 2
    assert client.get("/api/v1/dashboard/summary").status_code == 401
