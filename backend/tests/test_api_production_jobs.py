"""Production lines and job assignments."""

import uuid


def test_line_lifecycle(client, admin, backend):
    code = backend.unique("L")
    created = client.post("/api/v1/production/lines", headers=admin, json={"line_code": code, "name": "Line"})
    assert created.status_code == 201
    line = created.json()
    assert client.get(f"/api/v1/production/lines/{line['id']}", headers=admin).json()["line_code"] == code
    updated = client.put(f"/api/v1/production/lines/{line['id']}", headers=admin,
                         json={"name": "Renamed", "enabled": False})
    assert updated.status_code == 200
    assert (updated.json()["name"], updated.json()["enabled"]) == ("Renamed", False)
    assert client.post("/api/v1/production/lines", headers=admin,
                       json={"line_code": code, "name": "Again"}).status_code == 409
    assert client.delete(f"/api/v1/production/lines/{line['id']}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/production/lines/{line['id']}", headers=admin).status_code == 404


def test_line_writes_need_a_manager(client, users, line_id):
    operator = users.headers("operator")
    assert client.post("/api/v1/production/lines", headers=operator,
                       json={"line_code": "X-1", "name": "x"}).status_code == 403
    assert client.put(f"/api/v1/production/lines/{line_id}", headers=operator, json={"name": "x"}).status_code == 403
    assert client.delete(f"/api/v1/production/lines/{line_id}", headers=operator).status_code == 403


def test_unknown_and_malformed_line_ids(client, admin):
    assert client.get(f"/api/v1/production/lines/{uuid.uuid4()}", headers=admin).status_code == 404
    assert client.put(f"/api/v1/production/lines/{uuid.uuid4()}", headers=admin, json={}).status_code == 404
    assert client.delete(f"/api/v1/production/lines/{uuid.uuid4()}", headers=admin).status_code == 404
    assert client.get("/api/v1/production/lines/not-a-uuid", headers=admin).status_code == 422
    bad = client.post("/api/v1/production/lines", headers=admin, json={"line_code": "bad code!", "name": ""})
    assert {error["loc"][-1] for error in bad.json()["detail"]} == {"line_code", "name"}


def test_line_with_history_cannot_be_deleted(client, admin, users, new_line):
    client.post("/api/v1/andon/events", headers=users.headers("operator"),
                json={"line_id": new_line, "event_type": "stop", "priority": "low", "description": "jam"})
    assert client.delete(f"/api/v1/production/lines/{new_line}", headers=admin).status_code == 409


def test_job_workflow(client, users, line_id, backend):
    operator, operator_id = users.create("operator")
    supervisor = users.headers("shift_manager")
    ref = backend.unique("job")
    assigned = client.post("/api/v1/jobs/assign", headers=supervisor,
                           json={"user_id": operator_id, "line_id": line_id, "notes": "run 500 bags", "client_ref": ref})
    assert assigned.status_code == 201
    job = assigned.json()
    replay = client.post("/api/v1/jobs/assign", headers=supervisor,
                         json={"user_id": operator_id, "line_id": line_id, "client_ref": ref})
    assert (replay.status_code, replay.json()["id"]) == (200, job["id"])
    assert [j["id"] for j in client.get("/api/v1/jobs/my-jobs", headers=operator).json()] == [job["id"]]

    assert client.post(f"/api/v1/jobs/{job['id']}/start", headers=operator).status_code == 409
    for action, status in (("accept", "accepted"), ("start", "in_progress"), ("complete", "completed")):
        response = client.post(f"/api/v1/jobs/{job['id']}/{action}", headers=operator)
        assert (response.status_code, response.json()["status"]) == (200, status)
    again = client.post(f"/api/v1/jobs/{job['id']}/complete", headers=operator)
    assert (again.status_code, again.json()["status"]) == (200, "completed")


def test_job_rules(client, users, line_id):
    _, operator_id = users.account("operator")
    supervisor = users.headers("shift_manager")
    assert client.post("/api/v1/jobs/assign", headers=users.headers("operator"),
                       json={"user_id": operator_id, "line_id": line_id}).status_code == 403
    assert client.post("/api/v1/jobs/assign", headers=supervisor,
                       json={"user_id": str(uuid.uuid4()), "line_id": line_id}).status_code == 404
    job = client.post("/api/v1/jobs/assign", headers=supervisor,
                      json={"user_id": operator_id, "line_id": line_id}).json()
    assert client.post(f"/api/v1/jobs/{job['id']}/accept", headers=users.headers("engineer")).status_code == 403
    assert client.post(f"/api/v1/jobs/{uuid.uuid4()}/accept", headers=supervisor).status_code == 404
