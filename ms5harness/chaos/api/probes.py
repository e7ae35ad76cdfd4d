"""Probes of the MS5 API through its entry point (nginx), as the factory floor uses it."""

from __future__ import annotations

import time
import uuid

import httpx

from ms5harness.chaos import session
from ms5harness.kube.waits import WaitTimeout, poll
from ms5harness.verify.stack import secret_value

DEFAULT_API_URL = "http://127.0.0.1:30080"  # nginx's NodePort on the embedded cluster


def api_url(configuration: dict | None) -> str:
    return ((configuration or {}).get("api_url") or DEFAULT_API_URL).rstrip("/")


def andon_event_round_trip(configuration: dict | None = None, secrets: dict | None = None) -> bool:
    """Log in, raise an Andon event and read it back: the write path through API, Postgres primary
    and Redis fan-out. False (with the reason logged in the journal's output) on any failure."""
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    password = secret_value(kube, namespace, "ADMIN_PASSWORD")
    with httpx.Client(base_url=api_url(configuration), timeout=10) as api:
        login = api.post("/api/v1/auth/login", json={"username": "admin", "password": password})
        if login.status_code != 200:
            return False
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        lines = api.get("/api/v1/production/lines", headers=auth)
        if lines.status_code != 200 or not lines.json():
            return False
        ref = f"chaos-{uuid.uuid4()}"
        created = api.post("/api/v1/andon/events", headers=auth, json={
            "line_id": lines.json()[0]["id"], "event_type": "stop", "priority": "low",
            "description": "chaos experiment write probe", "client_ref": ref})
        if created.status_code != 201:
            return False
        return api.get(f"/api/v1/andon/events/by-ref/{ref}", headers=auth).status_code == 200


def write_availability(duration: float = 90, interval: float = 1, configuration: dict | None = None,
                       secrets: dict | None = None) -> dict:
    """Raise and read an Andon event every `interval` seconds for `duration` seconds while a fault
    plays out: what the floor saw. Returns attempts, failures, the longest run of failures in
    seconds and whether the last attempt succeeded (the journal keeps it)."""
    attempts = failures = 0
    outage_started = None
    longest = 0.0
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            ok = andon_event_round_trip(configuration)
        except Exception:  # a refused or timed-out request is what we are counting
            ok = False
        attempts += 1
        if ok:
            if outage_started is not None:
                longest = max(longest, started - outage_started)
                outage_started = None
        else:
            failures += 1
            outage_started = outage_started if outage_started is not None else started
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
    if outage_started is not None:
        longest = max(longest, time.monotonic() - outage_started)
    return {"attempts": attempts, "failures": failures, "longest_outage_seconds": round(longest, 1),
            "recovered": outage_started is None}


def seconds_until_ready(timeout: float = 120, configuration: dict | None = None,
                        secrets: dict | None = None) -> float:
    """Time until /health/detailed answers 200 again (database, Redis, buckets, a worker): the
    recovery time the journal records. Raises after `timeout`, which fails the activity."""
    started = time.monotonic()
    with httpx.Client(base_url=api_url(configuration), timeout=5) as api:
        try:
            poll("the API ready again", lambda: api.get("/health/detailed"), lambda r: r.status_code == 200,
                 timeout=timeout, interval=1, summary=lambda r: f"{r.status_code} {r.text[:300]}")
        except WaitTimeout as err:
            raise session.ActivityFailed(str(err)) from None
    return round(time.monotonic() - started, 1)
