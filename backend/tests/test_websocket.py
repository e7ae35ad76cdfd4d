"""The /ws/ protocol, and fan-out through Redis: an event raised on one replica reaches both."""

import json
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


def receive(ws, wanted_type, timeout=10):
    """Next message of a type, skipping heartbeats and others; bounded by time."""
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        message = json.loads(ws.recv(timeout=remaining))
        assert set(message) == {"type", "data", "timestamp"}
        if message["type"] == wanted_type:
            return message
    raise TimeoutError(wanted_type)


def send(ws, message_type, data=None):
    ws.send(json.dumps({"type": message_type, "data": data}))


def token(headers):
    return headers["Authorization"].split()[1]


def test_andon_event_reaches_clients_on_both_replicas(backend, users, client, line_id):
    viewer = token(users.headers("viewer"))
    with connect(backend.ws_url(0, viewer)) as first, connect(backend.ws_url(1, viewer)) as second:
        for ws in (first, second):
            send(ws, "subscribe", {"subscription_type": "andon", "target_id": line_id})
            assert receive(ws, "subscription_confirmed")["data"]["subscription_type"] == "andon"
        created = client.post("/api/v1/andon/events", headers=users.headers("operator"),
                              json={"line_id": line_id, "event_type": "material", "priority": "medium",
                                    "description": "out of film"}).json()
        for ws in (first, second):
            event = receive(ws, "andon_event")
            assert event["data"]["action"] == "created"
            assert event["data"]["event"]["id"] == created["id"]


def test_line_subscription_sees_oee_updates(backend, users, client, new_line):
    with connect(backend.ws_url(1, token(users.headers("viewer")))) as ws:
        send(ws, "subscribe", {"subscription_type": "line", "target_id": new_line})
        receive(ws, "subscription_confirmed")
        client.post("/api/v1/oee/calculate", headers=users.headers("engineer"), json={"line_id": new_line})
        assert receive(ws, "oee_update")["data"]["line_id"] == new_line


def test_ping_heartbeat_errors_and_unsubscribe(backend, users, client, line_id):
    with connect(backend.ws_url(0, token(users.headers("operator")))) as ws:
        send(ws, "ping", {"n": 1})
        assert receive(ws, "pong")["data"] == {"n": 1}
        assert receive(ws, "heartbeat", timeout=5)  # interval is 1 s in the tests
        send(ws, "subscribe", {"subscription_type": "weather"})
        assert "subscription_type" in receive(ws, "error")["data"]["message"]
        ws.send("not json")
        assert receive(ws, "error")
        send(ws, "subscribe", {"subscription_type": "andon"})
        receive(ws, "subscription_confirmed")
        send(ws, "unsubscribe", {"subscription_type": "andon"})
        receive(ws, "unsubscription_confirmed")
        client.post("/api/v1/andon/events", headers=users.headers("operator"),
                    json={"line_id": line_id, "event_type": "quality", "priority": "low", "description": "seal"})
        with pytest.raises(TimeoutError):
            receive(ws, "andon_event", timeout=1.5)


@pytest.mark.parametrize("bad_token", ["garbage", ""])
def test_bad_token_closes_with_1008(backend, bad_token):
    with connect(backend.ws_url(0, bad_token)) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd.code == 1008


def test_active_connections_gauge(backend, users, client):
    with connect(backend.ws_url(0, token(users.headers("viewer")))) as ws:
        send(ws, "ping")
        receive(ws, "pong")
        assert "ms5_websocket_active_connections 1.0" in client.get("/metrics").text
