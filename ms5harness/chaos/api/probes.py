"""Probes of the MS5 API through its entry point (nginx), as the factory floor uses it."""

from __future__ import annotations

import time
import uuid

import httpx

from ms5harness import names
from ms5harness.chaos import session
from ms5harness.kube.secrets import secret_value
from ms5harness.kube.waits import WaitTimeout, poll

__all__ = ["andon_event_round_trip", "write_availability", "seconds_until_ready", "report_backlog_drains"]

DEFAULT_API_URL = "http://127.0.0.1:30080"  # nginx's NodePort on the embedded cluster
REQUEST_SECONDS = 5  # one request of a floor terminal: longer than that is an outage to the floor
READY_AGAIN_SECONDS = 120  # the API ready after a fault, before the activity fails
BACKLOG_DRAIN_SECONDS = 180  # a report backlog finished across a worker kill (it drains in about 14 s)
BACKLOG_POLL_SECONDS = 2  # between looks at the unfinished reports
LOST_CHECK_SECONDS = 60  # looking the acknowledged events up again after a fault, while lookups still fail


def api_url(configuration: dict | None) -> str:
    return ((configuration or {}).get("api_url") or DEFAULT_API_URL).rstrip("/")


class FloorTerminal:
    """One operator terminal: logs in once (again while logins fail), raises Andon events and looks
    them up by their client reference. Every call is bounded by REQUEST_SECONDS."""

    def __init__(self, configuration: dict | None):
        kube, namespace = session.kube(configuration), session.namespace(configuration)
        self.password = secret_value(kube, namespace, names.ADMIN_PASSWORD_KEY)
        self.api = httpx.Client(base_url=api_url(configuration), timeout=REQUEST_SECONDS)
        self.auth: dict | None = None
        self.line_id: str | None = None

    def __enter__(self) -> FloorTerminal:
        return self

    def __exit__(self, *_exc) -> None:
        self.api.close()

    def logged_in(self) -> bool:
        if self.auth is None:
            login = self.api.post(names.LOGIN_PATH, json=names.login(self.password))
            if login.status_code != 200:
                return False
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            lines = self.api.get("/api/v1/production/lines", headers=auth)
            if lines.status_code != 200 or not lines.json():
                return False
            self.auth, self.line_id = auth, lines.json()[0]["id"]
        return True

    def raise_event(self) -> str | None:
        """The event's client reference when the API acknowledged it (201), else None."""
        if not self.logged_in():
            return None
        ref = f"chaos-{uuid.uuid4()}"
        created = self.api.post("/api/v1/andon/events", headers=self.auth, json={
            "line_id": self.line_id, "event_type": "stop", "priority": "low",
            "description": "chaos experiment write probe", "client_ref": ref})
        return ref if created.status_code == 201 else None

    def request_report(self) -> str | None:
        """The id of a production report the API queued for the Celery worker (202), else None."""
        if not self.logged_in():
            return None
        now = time.time()
        queued = self.api.post("/api/v1/reports/production", headers=self.auth, json={
            "line_id": self.line_id, "client_ref": f"chaos-{uuid.uuid4()}",
            "period_start": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3600)),
            "period_end": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))})
        return queued.json()["id"] if queued.status_code == 202 else None

    def report_status(self, report_id: str) -> str:
        got = self.api.get(f"/api/v1/reports/{report_id}", headers=self.auth)
        return got.json()["status"] if got.status_code == 200 else f"HTTP {got.status_code}"

    def lookup_status(self, ref: str) -> int | None:
        """The API's answer to a lookup of the event (200 found, 404 absent), None without a login."""
        if not self.logged_in():
            return None
        return self.api.get(f"/api/v1/andon/events/by-ref/{ref}", headers=self.auth).status_code

    def finds(self, ref: str) -> bool:
        return self.lookup_status(ref) == 200

    def lost(self, refs: list[str], timeout: float = LOST_CHECK_SECONDS) -> list[str]:
        """The acknowledged events the API answers 404 for. A lookup that fails (503, a reset) says
        nothing either way, so it is asked again until the API answers; raises if it never does."""
        unsure, lost = list(refs), []
        deadline = time.monotonic() + timeout
        while unsure and time.monotonic() < deadline:
            answers = {}
            for ref in unsure:
                try:
                    answers[ref] = self.lookup_status(ref)
                except httpx.HTTPError:
                    answers[ref] = None
            lost += [ref for ref, status in answers.items() if status == 404]
            unsure = [ref for ref, status in answers.items() if status not in (200, 404)]
            if unsure:
                time.sleep(1)
        if unsure:
            raise session.ActivityFailed(f"{len(unsure)} acknowledged Andon event(s) could not be looked up "
                                         f"within {timeout:g}s, so their loss is unknown")
        return lost


def andon_event_round_trip(configuration: dict | None = None, secrets: dict | None = None) -> bool:
    """Raise an Andon event and read it back: the write path through API, Postgres primary and Redis."""
    with FloorTerminal(configuration) as terminal:
        ref = terminal.raise_event()
        return ref is not None and terminal.finds(ref)


def write_availability(duration: float = 90, interval: float = 1, configuration: dict | None = None,
                       secrets: dict | None = None) -> dict:
    """Raise and read back an Andon event every `interval` seconds for `duration` seconds while a
    fault plays out, then look every acknowledged event up again: what the floor saw, and whether
    an acknowledged write was lost in a failover. Returned for the journal."""
    attempts = failures = 0
    acknowledged: list[str] = []
    outage_started: float | None = None
    longest = 0.0
    deadline = time.monotonic() + duration
    with FloorTerminal(configuration) as terminal:
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                ref = terminal.raise_event()
                if ref:
                    acknowledged.append(ref)
                ok = ref is not None and terminal.finds(ref)
            except httpx.HTTPError:  # refused, reset or timed out: what we are counting
                ok = False
            attempts += 1
            if ok and outage_started is not None:
                longest = max(longest, started - outage_started)
                outage_started = None
            elif not ok:
                failures += 1
                outage_started = started if outage_started is None else outage_started
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
        if outage_started is not None:
            longest = max(longest, time.monotonic() - outage_started)
        lost = terminal.lost(acknowledged)
    return {"attempts": attempts, "failures": failures, "longest_outage_seconds": round(longest, 1),
            "recovered": outage_started is None, "acknowledged": len(acknowledged), "lost": lost}


def seconds_until_ready(timeout: float = READY_AGAIN_SECONDS, configuration: dict | None = None,
                        secrets: dict | None = None) -> float:
    """Time until /health/detailed answers 200 again (database, Redis, buckets, a worker): the
    recovery time the journal records. Raises after `timeout`, which fails the activity."""
    started = time.monotonic()
    with httpx.Client(base_url=api_url(configuration), timeout=REQUEST_SECONDS) as api:
        try:
            poll("the API ready again", lambda: api.get("/health/detailed"), lambda r: r.status_code == 200,
                 timeout=timeout, interval=1, summary=lambda r: f"{r.status_code} {r.text[:300]}")
        except WaitTimeout as err:
            raise session.ActivityFailed(str(err)) from None
    return round(time.monotonic() - started, 1)


FINISHED = ("completed", "failed")  # a report job's final states


def report_backlog_drains(count: int = 150, timeout: float = BACKLOG_DRAIN_SECONDS, configuration: dict | None = None,
                          secrets: dict | None = None) -> dict:
    """Queue `count` production reports at once, then follow each until the worker finished it:
    run in the background while a worker is killed, it shows whether the tasks that worker held
    come back (acks_late) and how long the queue takes to drain. Fails if any report is still
    unfinished after `timeout` seconds; the figures go to the journal."""
    started = time.monotonic()
    with FloorTerminal(configuration) as terminal:
        queued = [r for r in (terminal.request_report() for _ in range(count)) if r]
        status = dict.fromkeys(queued, "pending")
        deadline = started + timeout
        while time.monotonic() < deadline:
            for report_id in [r for r, s in status.items() if s not in FINISHED]:
                try:
                    status[report_id] = terminal.report_status(report_id)
                except httpx.HTTPError:  # a lookup that failed says nothing about the report
                    pass
            if all(s in FINISHED for s in status.values()):
                break
            time.sleep(BACKLOG_POLL_SECONDS)
    unfinished = [r for r, s in status.items() if s not in FINISHED]
    figures = {"requested": count, "queued": len(queued),
               "completed": sum(s == "completed" for s in status.values()),
               "failed": sum(s == "failed" for s in status.values()),
               "unfinished": len(unfinished), "seconds_to_drain": round(time.monotonic() - started, 1)}
    if unfinished or len(queued) < count or figures["failed"]:
        raise session.ActivityFailed(f"report backlog did not drain in {timeout:.0f}s: {figures}; "
                                     f"unfinished: {unfinished[:5]}")
    return figures
