"""A bounded Locust run against the stack's entry point, judged against the SLOs from both sides.

Locust's request log says what the clients saw (every request, exact percentiles); Prometheus
says what the backend counted over exactly the run's window. A run passes when the objectives
hold on both sides and the backend counted the clients' successful requests.

Locust runs on this machine (`LoadRun`, here) or as its master and workers in pods of the target
cluster (`ms5harness.load.distributed`); both hand their requests to `judge`, and both return a
`LoadResult`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ms5harness import objectives as objectives_mod
from ms5harness import names, paths, slo
from ms5harness.errors import HarnessError
from ms5harness.verify.stack import Stack

LOCUSTFILE = paths.REPO_ROOT / "loadtests" / "locustfile.py"
SCRAPE_SETTLE_SECONDS = 20  # a few scrapes and a rule evaluation after the last request
STOP_GRACE_SECONDS = 5  # Locust's --stop-timeout: users finish their request
EXIT_SECONDS = 60  # beyond the run's length, for Locust to write its files and exit
COUNTED_SHARE = 0.95  # the backend must have counted this share of the clients' successful requests
RAMP_SETTLE_SECONDS = 5  # after the last user spawned: its login (bcrypt) and first page


def ramp_seconds(users: int, spawn_rate: float) -> float:
    """The ramp: users spawning and logging in all at once, a burst no floor sees in steady operation.
    It is not judged; the window starts after it."""
    return users / spawn_rate + RAMP_SETTLE_SECONDS


def parse_samples(lines: list[str]) -> list[slo.Sample]:
    """Requests from lines of the locustfile's log, "started,seconds,failed,name" (loadtests/locustfile.py)."""
    samples = []
    for line in lines:
        started, seconds, failed, _name = line.split(",", 3)
        samples.append(slo.Sample(float(started), float(seconds), failed == "1"))
    return samples


def read_samples(request_log: Path) -> list[slo.Sample]:
    """The clients' requests from the locustfile's log file."""
    return parse_samples(request_log.read_text().splitlines()) if request_log.exists() else []


@dataclass
class LoadResult:
    users: int
    seconds: float
    client_requests: int
    client_failures: int
    prometheus_requests: float | None
    verdicts: list[slo.Verdict] = field(default_factory=list)
    workers: int = 0  # Locust's workers in the cluster; 0: Locust ran on this machine
    logged_requests: int | None = None  # distributed: every request in the workers' logs, merged
    master_requests: int | None = None  # distributed: the Locust master's own total of the same requests

    @property
    def client_failure_ratio(self) -> float:
        return self.client_failures / self.client_requests if self.client_requests else 1.0

    @property
    def counted(self) -> bool:
        """The backend's metrics describe this load: it counted (nearly) every successful request."""
        successes = self.client_requests - self.client_failures
        return self.prometheus_requests is not None and self.prometheus_requests >= COUNTED_SHARE * successes

    @property
    def merged(self) -> bool:
        """The workers' logs hold every request the master counted, and no other (true of a local run)."""
        return self.logged_requests == self.master_requests

    @property
    def passed(self) -> bool:
        return (self.client_requests > 0 and bool(self.verdicts) and all(v.met for v in self.verdicts)
                and self.counted and self.merged)

    def lines(self) -> list[str]:
        lines = [v.line() for v in self.verdicts] + [
            f"clients: {self.client_requests} requests, {self.client_failures} failed "
            f"({self.client_failure_ratio:.2%}); Prometheus counted {self.prometheus_requests or 0:.0f}"
            f"{'' if self.counted else ' (too few: the verdicts would describe other traffic)'}"]
        if self.workers:
            lines.append(f"{self.workers} workers logged {self.logged_requests} requests, the Locust master counted "
                         f"{self.master_requests}{'' if self.merged else ' (they differ: a log is incomplete)'}")
        return lines


def judge(stack: Stack, samples: list[slo.Sample], start: float, ended: float, users: int, out_dir: Path,
          **distributed) -> LoadResult:
    """The run's window [start, ended] from both sides, once Prometheus has scraped past its end: the
    clients' requests and the backend's counters, against the profile's objectives. Written to slo.json."""
    time.sleep(max(0.0, ended + SCRAPE_SETTLE_SECONDS - time.time()))
    objectives = objectives_mod.load(stack.profile)
    clients = slo.sample_figures(samples, start, ended + STOP_GRACE_SECONDS + 1)
    server = slo.Server(stack.url("prometheus")).figures(start, ended + SCRAPE_SETTLE_SECONDS,
                                                         objectives_mod.scrape_seconds(stack.profile))
    result = LoadResult(users, round(ended - start, 1), int(clients.requests), int(clients.failures), server.requests,
                        slo.verdicts(clients, objectives, "clients") + slo.verdicts(server, objectives, "server"),
                        **distributed)
    (out_dir / "slo.json").write_text(json.dumps({**asdict(result), "passed": result.passed}, indent=2))
    return result


class LoadRun:
    """Locust in the background for a bounded time: start it, do something meanwhile, then judge."""

    def __init__(self, stack: Stack, out_dir: Path, users: int = 10, spawn_rate: float = 5, seconds: int = 60):
        self.stack, self.out_dir, self.users, self.spawn_rate, self.seconds = stack, out_dir, users, spawn_rate, seconds
        self.proc: subprocess.Popen | None = None
        self.started = self.ended = 0.0

    @property
    def judged_from(self) -> float:
        return self.started + ramp_seconds(self.users, self.spawn_rate)

    @property
    def request_log(self) -> Path:
        return self.out_dir / "requests.csv"

    def shape(self) -> tuple[list[str], dict[str, str]]:
        """How many users for how long: Locust's options and environment (a stepped run has its own)."""
        return ["-u", str(self.users), "-r", str(self.spawn_rate), "-t", f"{self.seconds}s"], {}

    def start(self, echo=print) -> LoadRun:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.request_log.unlink(missing_ok=True)
        host = self.stack.url("nginx")
        self.started = time.time()
        options, shape_env = self.shape()
        env = {**os.environ, "MS5H_ADMIN_PASSWORD": self.stack.secret(names.ADMIN_PASSWORD_KEY),
               "MS5H_REQUEST_LOG": str(self.request_log), **shape_env}
        cmd = [str(Path(sys.executable).parent / "locust"), "-f", str(LOCUSTFILE), "--headless", "--host", host,
               *options, "--stop-timeout", str(STOP_GRACE_SECONDS), "--csv", str(self.out_dir / "locust"),
               "--only-summary", "--exit-code-on-error", "0", "--logfile", str(self.out_dir / "locust.log")]
        echo(f"load: {self.users} users for at most {self.seconds}s against {host}")
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return self

    def stop(self) -> None:
        """End the run before its bound (Locust stops its users and writes its files on SIGTERM)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def finish(self) -> list[slo.Sample]:
        """Wait for Locust to exit; the clients' requests."""
        try:
            output, _ = self.proc.communicate(timeout=self.seconds - (time.time() - self.started) + EXIT_SECONDS)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        self.ended = time.time()
        if self.proc.returncode not in (0, -signal.SIGTERM):
            raise HarnessError(f"locust exited {self.proc.returncode}: {output.strip()[-300:]}",
                               f"see {self.out_dir / 'locust.log'}")
        samples = read_samples(self.request_log)
        if not samples:
            raise HarnessError("the load made no request", f"see {self.out_dir / 'locust.log'}")
        return samples

    def wait(self) -> LoadResult:
        """Wait for the end of the run, let Prometheus scrape, and judge the whole window from both sides."""
        samples = self.finish()
        return judge(self.stack, samples, self.judged_from, self.ended, self.users, self.out_dir)


def run(stack: Stack, out_dir: Path, users: int = 10, spawn_rate: float = 5, seconds: int = 60,
        echo=print) -> LoadResult:
    """Drive `users` floor users for `seconds` (bounded: Locust stops them), then judge the window."""
    return LoadRun(stack, out_dir, users, spawn_rate, seconds).start(echo).wait()
