"""Probes of the MS5 API through its entry point (nginx), as the factory floor uses it."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
from kubernetes.client import ApiException

from ms5harness import names
from ms5harness.chaos import session
from ms5harness.chaos.prometheus.probes import prometheus
from ms5harness.kube.secrets import secret_value

__all__ = ["andon_event_round_trip", "write_availability", "seconds_until_ready", "report_backlog_drains",
           "floor_requests"]

DEFAULT_API_URL = "http://127.0.0.1:30080"  # nginx's NodePort on the embedded cluster
REQUEST_SECONDS = 5  # one request of a floor terminal: longer than that is an outage to the floor
READY_AGAIN_SECONDS = 120  # the API ready after a fault, before the activity fails
READY_HOLD_SECONDS = 10  # ready that long to count: the readiness probe's period (values backend.probes.readiness)
BACKLOG_DRAIN_SECONDS = 180  # a report backlog finished across a worker kill (it drains in about 14 s)
BACKLOG_POLL_SECONDS = 2  # between looks at the unfinished reports
LOST_CHECK_SECONDS = 60  # looking the acknowledged events up again after a fault, while lookups still fail


def api_url(configuration: dict | None) -> str:
    return ((configuration or {}).get("api_url") or DEFAULT_API_URL).rstrip("/")


class FloorTerminal:
    """One operator terminal: logs in once (again while logins fail), raises Andon events and looks
    them up by their client reference. Every call is bounded by REQUEST_SECONDS."""

    def __init__(self, configuration: dict | None, timeout: float = REQUEST_SECONDS,
                 transport: httpx.BaseTransport | None = None):
        kube, namespace = session.kube(configuration), session.namespace(configuration)
        self.password = secret_value(kube, namespace, names.ADMIN_PASSWORD_KEY)
        self.api = httpx.Client(base_url=api_url(configuration), timeout=timeout, transport=transport)
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

    def reads_dashboard(self) -> bool:
        """The floor's summary screen: a Redis read-through cache in front of PostgreSQL."""
        return self.logged_in() and self.api.get("/api/v1/dashboard/summary", headers=self.auth).status_code == 200


def andon_event_round_trip(configuration: dict | None = None, secrets: dict | None = None) -> bool:
    """Raise an Andon event and read it back: the write path through API, Postgres primary and Redis."""
    with FloorTerminal(configuration) as terminal:
        ref = terminal.raise_event()
        return ref is not None and terminal.finds(ref)


def paced(duration: float, interval: float) -> Iterator[float]:
    """A beat every `interval` seconds for `duration` seconds: yields each beat's start (monotonic) and
    waits out the rest of the interval after the caller's work."""
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        started = time.monotonic()
        yield started
        time.sleep(max(0.0, interval - (time.monotonic() - started)))


def write_availability(duration: float = 90, interval: float = 1, configuration: dict | None = None,
                       secrets: dict | None = None) -> dict:
    """Raise and read back an Andon event every `interval` seconds for `duration` seconds while a
    fault plays out, then look every acknowledged event up again: what the floor saw, and whether
    an acknowledged write was lost in a failover. Returned for the journal."""
    attempts = failures = 0
    acknowledged: list[str] = []
    outage_started: float | None = None
    longest = 0.0
    with FloorTerminal(configuration) as terminal:
        for started in paced(duration, interval):
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
        if outage_started is not None:
            longest = max(longest, time.monotonic() - outage_started)
        lost = terminal.lost(acknowledged)
    return {"attempts": attempts, "failures": failures, "longest_outage_seconds": round(longest, 1),
            "recovered": outage_started is None, "acknowledged": len(acknowledged), "lost": lost}


def seconds_until_ready(timeout: float = READY_AGAIN_SECONDS, configuration: dict | None = None,
                        secrets: dict | None = None) -> float:
    """Time until /health/detailed answers 200 again (database, Redis, buckets, a worker) with every
    replica of the API ready, held for READY_HOLD_SECONDS: right after a fault the kubelet may still
    take replicas out on their last failed readiness probes, and one replica answering once would
    leave nginx with none a moment later. The recovery time the journal records (until it first
    held); raises after `timeout`, which fails the activity."""
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    backend = names.object_name("backend")
    started = deadline = time.monotonic()
    deadline += timeout
    since, last = None, "nothing observed"
    with httpx.Client(base_url=api_url(configuration), timeout=REQUEST_SECONDS) as api:
        while time.monotonic() < deadline:
            try:
                status = api.get("/health/detailed").status_code
                deployment = kube.apps.read_namespaced_deployment_status(backend, namespace).status
                ready, want = deployment.ready_replicas or 0, deployment.replicas or 0
                last = f"HTTP {status}, {ready} of {want} replicas ready"
                held = status == 200 and ready == want > 0
            except (httpx.HTTPError, ApiException) as err:
                held, last = False, f"{type(err).__name__}: {err}"
            since = (since or time.monotonic()) if held else None
            if since is not None and time.monotonic() - since >= READY_HOLD_SECONDS:
                return round(since - started, 1)
            time.sleep(1)
    raise session.ActivityFailed(f"the API ready again, held {READY_HOLD_SECONDS} s: not reached within "
                                 f"{timeout:.0f}s; last seen: {last}")


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
                                     f"unfinished (id: last status): {({r: status[r] for r in unfinished[:5]})}")
    return figures


CLIENT_SECONDS = 30  # floor_requests' client: past every backend timeout, so a hung request shows as one
# The API's requests as Prometheus counts them (ms5harness.slo's selector: probes and scrapes left out).
SERVER_BUCKETS = 'http_request_duration_seconds_bucket{job="backend", handler!~"/health.*|/metrics"}'


@dataclass(frozen=True)
class Timing:
    """One request of the floor terminal: how long until its answer, and the status (None: no answer)."""
    seconds: float
    status: int | None


class TimedTransport(httpx.HTTPTransport):
    """Records every request's time to its response headers (the small JSON bodies come with them)."""

    def __init__(self, timings: list[Timing]):
        super().__init__()
        self.timings = timings

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()
        try:
            response = super().handle_request(request)
        except httpx.HTTPError:
            self.timings.append(Timing(time.monotonic() - started, None))
            raise
        self.timings.append(Timing(time.monotonic() - started, response.status_code))
        return response


def timing_figures(timings: list[Timing]) -> dict:
    ordered = sorted(t.seconds for t in timings)

    def rank(q: float) -> float | None:  # nearest rank, as ms5harness.slo.quantile
        return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 3) if ordered else None

    failed = [t for t in timings if t.status is None or t.status >= 500]
    return {"requests": len(timings), "failures": len(failed),
            "failure_ratio": round(len(failed) / len(timings), 4) if timings else None,
            "answered_503": sum(t.status == 503 for t in timings),
            "unanswered": sum(t.status is None for t in timings),
            "p50": rank(0.5), "p95": rank(0.95), "slowest": round(ordered[-1], 3) if ordered else None}


def breaches(figures: dict, p95_below: float | None, slowest_below: float | None, unanswered_at_most: int,
             failure_ratio_at_most: float | None) -> list[str]:
    """The bounds of floor_requests that its figures broke; a bound on no data is broken."""
    broken = []
    if not figures["requests"]:
        broken.append("no request was made")
    if figures["unanswered"] > unanswered_at_most:
        broken.append(f"{figures['unanswered']} requests got no answer (at most {unanswered_at_most})")
    checks = [("p95", p95_below), ("server_p95", p95_below), ("slowest", slowest_below)]
    for key, bound in checks:
        if bound is not None and (figures.get(key) is None or figures[key] >= bound):
            broken.append(f"{key} {figures.get(key)} s (below {bound} s)")
    if failure_ratio_at_most is not None and (figures["failure_ratio"] or 0) > failure_ratio_at_most:
        broken.append(f"failure ratio {figures['failure_ratio']} (at most {failure_ratio_at_most})")
    return broken


def floor_requests(duration: float = 30, share: float = 1.0, interval: float = 1.0, p95_below: float | None = None,
                   slowest_below: float | None = None, unanswered_at_most: int = 0,
                   failure_ratio_at_most: float | None = None, configuration: dict | None = None,
                   secrets: dict | None = None) -> dict:
    """For `share` x `duration` seconds, every `interval` seconds, a floor terminal raises an Andon event,
    reads it back and reads the dashboard summary (PostgreSQL and Redis), each request timed to its answer
    with a client that waits CLIENT_SECONDS. Judged: no more than `unanswered_at_most` requests without an
    answer (a 503 is an answer; a hang or a reset is not), the clients' p95 and, from Prometheus over the
    same window, the backend's p95 below `p95_below`, no request slower than `slowest_below`, the failure
    ratio at most `failure_ratio_at_most`. Fails naming every broken bound; the figures go to the journal."""
    seconds = float(duration) * share
    timings: list[Timing] = []
    started = time.time()
    with FloorTerminal(configuration, timeout=CLIENT_SECONDS, transport=TimedTransport(timings)) as terminal:
        for _ in paced(seconds, interval):
            try:
                ref = terminal.raise_event()
                if ref:
                    terminal.finds(ref)
                terminal.reads_dashboard()
            except httpx.HTTPError:  # recorded by the transport: what we are counting
                pass
    figures = {"seconds": round(time.time() - started, 1), **timing_figures(timings)}
    with prometheus(session.kube(configuration), session.namespace(configuration)) as prom:
        window = max(time.time() - started, 3 * prom.scrape_interval())  # three scrapes show counter growth
        server = prom.scalar(f"histogram_quantile(0.95, sum by (le) (increase({SERVER_BUCKETS}[{window:.0f}s])))")
    figures["server_p95"] = None if server is None else round(server, 3)
    broken = breaches(figures, p95_below, slowest_below, unanswered_at_most, failure_ratio_at_most)
    if broken:
        raise session.ActivityFailed(f"the floor's requests broke their bounds: {'; '.join(broken)}; {figures}")
    return figures
