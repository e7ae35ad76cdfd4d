"""The one entry point: nginx routes /health and /api, upgrades /ws, and every backend
replica delivers every event (fan-out through Redis). Nothing else is public: not Flower, not the
API's metrics or its documentation. Every response carries the security headers; HSTS only over TLS."""

import json
import time
import uuid

import pytest
import websocket

from ms5harness.kube.waits import poll

# Public through the entry point, and what they answer.
PUBLIC = {"/health": 200, "/nginx-health": 200}
# Served inside the cluster but never through the entry point (Flower: kubectl port-forward only).
NOT_PUBLIC = ("/flower/", "/flower/api/workers", "/metrics", "/docs", "/redoc", "/openapi.json", "/no-such-path")
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "cross-origin-opener-policy": "same-origin",
}


def test_health_and_api_are_routed(stack):
    with stack.api() as api:
        assert api.get("/health").status_code == 200
        assert api.get("/api/v1/production/lines").status_code == 401, "an unauthenticated API call was not refused"
        token = stack.admin_token()
        lines = api.get("/api/v1/production/lines", headers={"Authorization": f"Bearer {token}"})
        assert lines.status_code == 200 and any(l["line_code"] == "L-BAG1" for l in lines.json())


def test_only_health_and_the_api_are_public(stack):
    with stack.api() as api:
        answered = {path: api.get(path).status_code for path in (*PUBLIC, *NOT_PUBLIC)}
    assert answered == {**PUBLIC, **{path: 404 for path in NOT_PUBLIC}}


@pytest.mark.parametrize("path", ["/health", "/nginx-health", "/api/v1/production/lines", "/metrics", "/flower/"])
def test_every_response_carries_the_security_headers(stack, path):
    """Success, refusal (401) and not-found (404) alike; HSTS only where the entry point speaks TLS."""
    with stack.api() as api:
        response = api.get(path)
    missing = {k: v for k, v in SECURITY_HEADERS.items() if response.headers.get(k) != v}
    assert not missing, f"{path} (HTTP {response.status_code}) lacks or differs in {missing}"
    assert response.headers.get("permissions-policy", "").startswith("camera=()"), path
    over_tls = str(api.base_url).startswith("https://")
    assert ("strict-transport-security" in response.headers) is over_tls, f"{path}: HSTS must come with TLS only"


def ws_connections(stack, pod) -> float:
    result = stack.exec("backend", ["python", "-c",
                        "import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:8000/metrics',timeout=5).read().decode())"],
                        pod=pod)
    return sum(float(l.rsplit(" ", 1)[1]) for l in result.stdout.splitlines()
               if l.startswith("ms5_websocket_active_connections"))


def test_websocket_on_one_replica_receives_an_event_created_on_another(stack):
    pods = stack.pods("backend")
    assert len(pods) >= 2, "needs two backend replicas"
    token = stack.admin_token()
    ws = websocket.create_connection(stack.url("nginx").replace("http", "ws") + f"/ws/?token={token}", timeout=10)
    try:
        ws.send(json.dumps({"type": "subscribe", "data": {"subscription_type": "andon"}}))
        confirmed = json.loads(ws.recv())
        assert confirmed["type"] == "subscription_confirmed", confirmed
        serving = poll("the replica holding the socket", lambda: [p for p in pods if ws_connections(stack, p) >= 1],
                       lambda found: len(found) == 1, timeout=20)[0]
        other = next(p for p in pods if p.metadata.name != serving.metadata.name)
        ref = f"harness-{uuid.uuid4()}"
        line_id = None
        with stack.api() as api:
            auth = {"Authorization": f"Bearer {token}"}
            line_id = next(l["id"] for l in api.get("/api/v1/production/lines", headers=auth).json())
        create = ("import json,sys,urllib.request;r=urllib.request.Request('http://127.0.0.1:8000/api/v1/andon/events',"
                  f"data=json.dumps({{'line_id':'{line_id}','event_type':'stop','priority':'high',"
                  f"'description':'harness fan-out','client_ref':'{ref}'}}).encode(),"
                  f"headers={{'Content-Type':'application/json','Authorization':'Bearer {token}'}});"
                  "print(urllib.request.urlopen(r,timeout=10).status)")
        created = stack.exec("backend", ["python", "-c", create], pod=other)
        assert created.stdout.strip() == "201", created.stderr
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            message = json.loads(ws.recv())
            if message["type"] == "andon_event" and json.dumps(message["data"]).find(ref) >= 0:
                return
        pytest.fail("the andon event created on another replica never reached this socket")
    finally:
        ws.close()


def test_websocket_with_a_bad_token_is_closed_with_1008(stack):
    ws = websocket.create_connection(stack.url("nginx").replace("http", "ws") + "/ws/?token=bad", timeout=10)
    try:
        opcode, frame = ws.recv_data_frame(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE, f"expected a close frame, got opcode {opcode}"
        assert int.from_bytes(frame.data[:2], "big") == 1008
    finally:
        ws.close()
