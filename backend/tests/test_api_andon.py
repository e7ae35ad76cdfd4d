"""Andon events: idempotent creation, lookup by key, acknowledge/resolve rules."""

import uuid
from concurrent.futures import ThreadPoolExecutor


def andon(line_id, **overrides):
    return {"line_id": line_id, "event_type": "stop", "priority": "high", "description": "bagger jammed",
            **overrides}


def test_create_list_acknowledge_resolve(client, users, line_id):
    operator, maintenance = users.headers("operator"), users.headers("maintenance")
    created = client.post("/api/v1/andon/events", headers=operator, json=andon(line_id, equipment_code="BP01.PACK.BAG1"))
    assert created.status_code == 201
    event = created.json()
    assert event["status"] == "open"
    assert event["id"] in [e["id"] for e in client.get("/api/v1/andon/events/active", headers=operator).json()]
    listed = client.get("/api/v1/andon/events", headers=operator, params={"line_id": line_id, "status": "open"})
    assert event["id"] in [e["id"] for e in listed.json()]

    acked = client.put(f"/api/v1/andon/events/{event['id']}/acknowledge", headers=maintenance)
    assert (acked.status_code, acked.json()["status"]) == (200, "acknowledged")
    assert client.put(f"/api/v1/andon/events/{event['id']}/acknowledge", headers=maintenance).status_code == 200
    resolved = client.put(f"/api/v1/andon/events/{event['id']}/resolve", headers=maintenance,
                          json={"resolution_notes": "cleared the jam"})
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["resolution_notes"] == "cleared the jam"
    assert client.put(f"/api/v1/andon/events/{event['id']}/acknowledge", headers=maintenance).status_code == 409
    assert event["id"] not in [e["id"] for e in client.get("/api/v1/andon/events/active", headers=operator).json()]
    assert client.get(f"/api/v1/andon/events/{event['id']}", headers=operator).json()["status"] == "resolved"


def test_retried_request_never_duplicates(client, users, line_id, backend):
    operator = users.headers("operator")
    key = backend.unique("andon")
    first = client.post("/api/v1/andon/events", headers={**operator, "Idempotency-Key": key}, json=andon(line_id))
    again = client.post("/api/v1/andon/events", headers=operator, json=andon(line_id, client_ref=key))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and again.json()["client_ref"] == key
    assert client.get(f"/api/v1/andon/events/by-ref/{key}", headers=operator).json()["id"] == first.json()["id"]
    assert len(client.get("/api/v1/andon/events", headers=operator, params={"client_ref": key}).json()) == 1


def test_concurrent_retries_on_two_replicas_create_one_event(backend, users, line_id):
    operator = users.headers("operator")
    key = backend.unique("race")

    def post(replica):
        with backend.client(replica) as client:
            return client.post("/api/v1/andon/events", headers=operator, json=andon(line_id, client_ref=key))

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(post, [0, 1] * 4))
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert backend.db("SELECT count(*) FROM andon_events WHERE client_ref = $1", key)[0][0] == 1


def test_conflicting_keys_and_bad_bodies_are_422(client, users, line_id):
    operator = users.headers("operator")
    conflicting = client.post("/api/v1/andon/events", headers={**operator, "Idempotency-Key": "a"},
                              json=andon(line_id, client_ref="b"))
    assert conflicting.status_code == 422
    bad = client.post("/api/v1/andon/events", headers=operator,
                      json={"line_id": line_id, "event_type": "fire", "priority": "urgent"})
    assert {error["loc"][-1] for error in bad.json()["detail"]} == {"event_type", "priority", "description"}


def test_roles_and_unknown_ids(client, users, line_id):
    assert client.post("/api/v1/andon/events", headers=users.headers("viewer"), json=andon(line_id)).status_code == 403
    event = client.post("/api/v1/andon/events", headers=users.headers("operator"), json=andon(line_id)).json()
    assert client.put(f"/api/v1/andon/events/{event['id']}/acknowledge",
                      headers=users.headers("operator")).status_code == 403
    unknown = uuid.uuid4()
    responder = users.headers("shift_manager")
    assert client.put(f"/api/v1/andon/events/{unknown}/acknowledge", headers=responder).status_code == 404
    assert client.put(f"/api/v1/andon/events/{unknown}/resolve", headers=responder).status_code == 404
    assert client.get(f"/api/v1/andon/events/{unknown}", headers=responder).status_code == 404
    assert client.get("/api/v1/andon/events/by-ref/never-used", headers=responder).status_code == 404
    assert client.post("/api/v1/andon/events", headers=responder,
                       json=andon(str(uuid.uuid4()))).status_code == 404


def test_andon_metric_counts_changes(client, users, line_id):
    client.post("/api/v1/andon/events", headers=users.headers("operator"), json=andon(line_id, priority="critical"))
    assert 'ms5_andon_events_total{priority="critical",status="open"}' in client.get("/metrics").text
