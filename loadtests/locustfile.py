"""The factory floor as load: supervisors watching dashboards and OEE, operators raising Andon events.

Run by `ms5harness load` (bounded users and duration, against the stack's entry point only): on
this machine, or as Locust's master and workers in pods of the image images/locust (`--workers N`).
The admin password comes from MS5H_ADMIN_PASSWORD, never from the command line.
"""

import os
import sys
import time
import uuid

from locust import HttpUser, LoadTestShape, between, events, task

# a module of constants: nothing else of the harness loads (the image holds only it)
from ms5harness.names import LOGIN_PATH, REQUEST_LINE_PREFIX, REQUEST_LOG_STDOUT, login

# Stepped load (`ms5harness load --steps`): users per step, each held STEP_SECONDS, timed from
# LOAD_EPOCH (the harness's clock, so it knows every step's bounds without asking Locust).
STEPS = os.environ.get("MS5H_LOAD_STEPS")

# One CSV line per request, the harness's client-side figures: into this file, or with "-" onto
# stdout, each line prefixed, where a worker pod's log carries them to the harness.
REQUEST_LOG = os.environ.get("MS5H_REQUEST_LOG")


@events.init.add_listener
def record_every_request(environment, **_kwargs) -> None:
    """Locust's own stats round percentiles and merge time; the harness wants each request: when it
    started, how long it took, whether it failed (ms5harness.slo.Sample)."""
    if not REQUEST_LOG:
        return
    if REQUEST_LOG == REQUEST_LOG_STDOUT:
        log, prefix = sys.stdout, REQUEST_LINE_PREFIX  # the same stream object as Locust's own prints
    else:
        log, prefix = open(REQUEST_LOG, "a", buffering=1), ""  # noqa: SIM115 (open for the whole run; closed on exit)
        environment.events.quitting.add_listener(lambda **_kw: log.close())

    def write(request_type, name, response_time, response_length, exception=None, start_time=None, **_kw) -> None:
        # one write of a whole line, flushed: nothing interleaves with it, and none is lost at exit
        log.write(f"{prefix}{start_time or 0:.3f},{(response_time or 0) / 1000:.4f},{int(exception is not None)},{name}\n")
        log.flush()

    environment.events.request.add_listener(write)


class FloorUser(HttpUser):
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        resp = self.client.post(LOGIN_PATH, name="login", json=login(os.environ["MS5H_ADMIN_PASSWORD"]))
        resp.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {resp.json()['access_token']}"
        lines = self.client.get("/api/v1/production/lines", name="production lines")
        lines.raise_for_status()
        self.line_ids = [line["id"] for line in lines.json()]

    @task(5)
    def dashboard_summary(self) -> None:
        self.client.get("/api/v1/dashboard/summary", name="dashboard summary")

    @task(3)
    def dashboard_lines(self) -> None:
        self.client.get("/api/v1/dashboard/lines", name="dashboard lines")

    @task(2)
    def oee_current(self) -> None:
        for line_id in self.line_ids[:1]:
            self.client.get(f"/api/v1/oee/lines/{line_id}/current", name="oee current")

    @task(2)
    def active_andon(self) -> None:
        self.client.get("/api/v1/andon/events/active", name="andon active")

    @task(1)
    def raise_andon(self) -> None:
        for line_id in self.line_ids[:1]:
            self.client.post("/api/v1/andon/events", name="andon raise", json={
                "line_id": line_id, "event_type": "quality", "priority": "low",
                "description": "load test", "client_ref": f"load-{uuid.uuid4()}"})


if STEPS:
    class SteppedFloor(LoadTestShape):
        """The floor's users in steps: a step's new users spawn at its start, then hold until the next."""

        users = [int(u) for u in STEPS.split(",")]
        step_seconds = float(os.environ["MS5H_STEP_SECONDS"])
        spawn_rate = float(os.environ["MS5H_SPAWN_RATE"])
        epoch = float(os.environ["MS5H_LOAD_EPOCH"])

        def tick(self):
            step = int((time.time() - self.epoch) // self.step_seconds)
            return (self.users[step], self.spawn_rate) if step < len(self.users) else None
