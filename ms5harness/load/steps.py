"""Stepped load: the floor's users raised step by step, every step judged from both sides against the
SLOs, while the backend's HPA is watched (ms5harness.kube.autoscaling).

Two figures come out of one run. The stack's capacity: the highest step up to which every step's
objectives held (its users, and the requests per second through the entry point). And the HPA's
reaction: from the step that made it scale out to a new replica ready and serving, by phase, gated
at the plan's objective (values.yaml slo.autoscalingResponseSeconds) with the objectives holding in
that step and the new replica taking requests (its own series in Prometheus).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from ms5harness import names, slo
from ms5harness import objectives as objectives_mod
from ms5harness.errors import HarnessError
from ms5harness.kube.autoscaling import ScaleOut, ScaleWatcher, Timeline, scale_out
from ms5harness.load import RAMP_SETTLE_SECONDS, SCRAPE_SETTLE_SECONDS, LoadRun
from ms5harness.verify.stack import Stack

DEFAULT_STEPS = (10, 40, 80, 120)  # floor users; 10 is the nightly's floor (about 8 requests/s)
DEFAULT_STEP_SECONDS = 45  # a step: its users' ramp, the metric's lag (15 s resolution), a scale-out, a window
SCALED = "backend"  # the component whose HPA is watched
MAX_STEPS = 8
MAX_STEP_USERS = 500  # bounded load: a team's staging cluster is not a stress rig


def parse_steps(text: str) -> tuple[int, ...]:
    """`--steps 10,40,80`: rising user counts, bounded."""
    try:
        steps = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise HarnessError(f"--steps {text!r} is not a list of user counts", "write e.g. --steps 10,40,80") from None
    if not 2 <= len(steps) <= MAX_STEPS or any(b <= a for a, b in zip(steps, steps[1:])) or steps[0] < 1 \
            or steps[-1] > MAX_STEP_USERS:
        raise HarnessError(f"--steps {text}: give 2 to {MAX_STEPS} rising user counts from 1 to {MAX_STEP_USERS}",
                           "write e.g. --steps 10,40,80")
    return steps


@dataclass
class StepResult:
    users: int
    start: float  # the judged window: after the step's new users spawned and logged in
    end: float
    clients: slo.Figures
    server: slo.Figures
    verdicts: list[slo.Verdict]

    @property
    def met(self) -> bool:
        return bool(self.verdicts) and all(v.met for v in self.verdicts) and bool(self.clients.requests)

    @property
    def requests_per_second(self) -> float:
        """The clients' requests through the entry point, per second of the window."""
        return (self.clients.requests or 0) / (self.end - self.start)

    def line(self) -> str:
        broken = [v.line() for v in self.verdicts if not v.met]
        return (f"{self.users:4d} users: {self.requests_per_second:6.1f} req/s, clients p95 "
                f"{(self.clients.p95 or 0) * 1000:.0f} ms, {self.clients.failures or 0:.0f} failed"
                f"{'; objectives held' if self.met else '; ' + '; '.join(broken or ['no requests'])}")

    def as_dict(self) -> dict:
        return {"users": self.users, "start": self.start, "end": self.end, "met": self.met,
                "requests_per_second": round(self.requests_per_second, 2), "clients": self.clients.as_dict(),
                "server": self.server.as_dict(), "verdicts": [v.line() for v in self.verdicts]}


@dataclass
class SteppedResult:
    steps: list[StepResult]
    within_seconds: float  # the scale-out objective
    timeline: Timeline
    scale_out: ScaleOut | None = None
    scale_out_step: int | None = None
    new_replica_requests: float | None = None  # what Prometheus counted of the new replica, to the run's end
    problems: list[str] = field(default_factory=list)

    @property
    def capacity(self) -> StepResult | None:
        """The highest step up to which every step's objectives held."""
        held = None
        for step in self.steps:
            if not step.met:
                break
            held = step
        return held

    @property
    def limit_found(self) -> bool:
        """A step broke an objective, so the capacity is a limit, not just the highest load tried."""
        return any(not step.met for step in self.steps)

    @property
    def passed(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        lines = [step.line() for step in self.steps]
        capacity = self.capacity
        lines.append(f"capacity: {'' if self.limit_found else 'at least '}{capacity.users} users, "
                     f"{capacity.requests_per_second:.1f} req/s through the entry point"
                     f"{'' if self.limit_found else ' (every step held: add a higher one to find the limit)'}"
                     if capacity else "capacity: not even the first step held its objectives")
        if self.scale_out:
            s = self.scale_out
            lines.append(f"scale-out at the {self.steps[self.scale_out_step].users}-user step, {s.replicas_before} -> "
                         f"{s.replicas_after} replicas: {s.total:.1f} s (objective {self.within_seconds:g} s) = metric lag "
                         f"{s.metric_lag} + HPA decision {s.decision} + scheduling {s.scheduling} + readiness "
                         f"{s.readiness} + into the endpoints {s.serving}; {s.pod} served "
                         f"{self.new_replica_requests or 0:.0f} requests")
        return lines + [f"NOT MET: {p}" for p in self.problems]

    def as_dict(self) -> dict:
        capacity = self.capacity
        return {"passed": self.passed, "problems": self.problems, "within_seconds": self.within_seconds,
                "steps": [s.as_dict() for s in self.steps],
                "capacity": {"users": capacity.users, "requests_per_second": round(capacity.requests_per_second, 2),
                             "limit_found": self.limit_found} if capacity else None,
                "scale_out": self.scale_out.as_dict() if self.scale_out else None,
                "scale_out_users": self.steps[self.scale_out_step].users if self.scale_out else None,
                "new_replica_requests": self.new_replica_requests, "timeline": self.timeline.as_dict()}


class SteppedRun(LoadRun):
    """Locust with the locustfile's stepped shape (MS5H_LOAD_STEPS), timed from the harness's clock."""

    def __init__(self, stack: Stack, out_dir: Path, steps: tuple[int, ...], step_seconds: float,
                 spawn_rate: float = 5):
        super().__init__(stack, out_dir, users=steps[-1], spawn_rate=spawn_rate, seconds=int(len(steps) * step_seconds))
        self.steps, self.step_seconds = steps, step_seconds

    def shape(self) -> tuple[list[str], dict[str, str]]:
        return [], {"MS5H_LOAD_STEPS": ",".join(map(str, self.steps)), "MS5H_STEP_SECONDS": str(self.step_seconds),
                    "MS5H_SPAWN_RATE": str(self.spawn_rate), "MS5H_LOAD_EPOCH": f"{self.started:.3f}"}

    def windows(self) -> list[tuple[int, float, float]]:
        """(users, start, end) of each step's judged window: after the ramp of the users it added."""
        bounds, previous = [], 0
        for index, users in enumerate(self.steps):
            begins = self.started + index * self.step_seconds
            ramp = (users - previous) / self.spawn_rate + RAMP_SETTLE_SECONDS
            bounds.append((users, begins + ramp, begins + self.step_seconds))
            previous = users
        return bounds


def judge_steps(stack: Stack, run: SteppedRun, samples: list[slo.Sample]) -> list[StepResult]:
    objectives = objectives_mod.load(stack.profile)
    server = slo.Server(stack.url("prometheus"))
    scrape = objectives_mod.scrape_seconds(stack.profile)
    results = []
    for users, start, end in run.windows():
        # A counter series born in the ramp (a pod's first 503s while 70 users log in) is first scraped up to
        # one scrape after `start`, and would count whole in the step (2026-12-03: 22 of a ramp's 503s, which
        # nginx had retried for the clients, read as a 1.6 % error ratio at 80 users). The server's window
        # starts one scrape later, so that all it counts happened inside the step.
        clients, counted = slo.sample_figures(samples, start, end), server.figures(start + scrape, end, scrape)
        results.append(StepResult(users, start, end, clients, counted,
                                  slo.verdicts(clients, objectives, "clients") + slo.verdicts(counted, objectives, "server")))
    return results


def run(stack: Stack, out_dir: Path, steps: tuple[int, ...] = DEFAULT_STEPS,
        step_seconds: float = DEFAULT_STEP_SECONDS, echo=print) -> SteppedResult:
    """Raise the floor's load step by step (bounded: len(steps) x step_seconds) while watching the
    backend's HPA; judge every step, the capacity and the scale-out. Written to steps.json."""
    stepped = SteppedRun(stack, out_dir, steps, step_seconds)
    name = names.object_name(SCALED)
    with ScaleWatcher(stack.kube, stack.namespace, hpa=name, service=name) as watcher:
        stepped.start(echo)
        samples = stepped.finish()
    time.sleep(max(0.0, stepped.ended + SCRAPE_SETTLE_SECONDS - time.time()))
    result = SteppedResult(judge_steps(stack, stepped, samples),
                           objectives_mod.load(stack.profile).scale_out_seconds, watcher.timeline)
    judge_scale_out(stack, stepped, result)
    (out_dir / "steps.json").write_text(json.dumps(result.as_dict(), indent=2))
    return result


def judge_scale_out(stack: Stack, stepped: SteppedRun, result: SteppedResult) -> None:
    """The first scale-out after a step, its time against the objective, the objectives held up to and
    in that step, and the new replica's own requests counted by Prometheus."""
    for index in range(len(stepped.steps)):
        begins = stepped.started + index * stepped.step_seconds
        found = scale_out(result.timeline, begins, begins + stepped.step_seconds)
        if found:
            result.scale_out, result.scale_out_step = found, index
            break
    if result.scale_out is None:
        peak = max((o.desired for o in result.timeline.observations), default=0)
        result.problems.append(f"the HPA did not scale out within any step (most replicas asked: {peak}; "
                               f"{len(result.timeline.observations)} polls, {result.timeline.errors} failed)")
        return
    if result.timeline.observations[0].replicas != result.timeline.min_replicas:
        result.problems.append(f"the HPA was not at rest before the load ({result.timeline.observations[0].replicas} "
                               f"replicas, minimum {result.timeline.min_replicas}): reset it first")
    if result.scale_out.total > result.within_seconds:
        result.problems.append(f"scale-out took {result.scale_out.total:.1f} s, objective {result.within_seconds:g} s")
    unmet = [s.users for s in result.steps[:result.scale_out_step + 1] if not s.met]
    if unmet:
        result.problems.append(f"objectives broken up to the scale-out, at {unmet} users")
    window = max(1, round(stepped.ended - result.scale_out.step_at))
    result.new_replica_requests = slo.Server(stack.url("prometheus")).scalar(
        slo.counted(f'http_requests_total{{{slo.API}, pod="{result.scale_out.pod}"}}', f"{window}s"),
        stepped.ended + SCRAPE_SETTLE_SECONDS)
    if not result.new_replica_requests:
        serving = result.timeline.pods[result.scale_out.pod].serving
        result.problems.append(f"Prometheus counted no request served by the new replica {result.scale_out.pod} "
                               f"(in the Service's endpoints {stepped.ended - serving:.0f} s before the load ended)")
