"""A bounded Locust run against the stack's entry point, judged by Prometheus against the SLOs.

Locust counts what the clients saw; Prometheus judges the objectives from the backend's own
metrics over exactly the run's window. Both are kept: a run passes when every objective is met
and the clients' failure ratio is under the error budget too.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ms5harness import paths, slo
from ms5harness.errors import HarnessError
from ms5harness.verify.stack import Stack

LOCUSTFILE = paths.REPO_ROOT / "loadtests" / "locustfile.py"
SCRAPE_SETTLE_SECONDS = 45  # two scrapes and a rule evaluation after the last request


@dataclass
class LoadResult:
    users: int
    seconds: float
    client_requests: int
    client_failures: int
    prometheus_requests: float | None
    verdicts: list[slo.Verdict] = field(default_factory=list)

    @property
    def client_failure_ratio(self) -> float:
        return self.client_failures / self.client_requests if self.client_requests else 1.0

    @property
    def passed(self) -> bool:
        return bool(self.verdicts) and all(v.met for v in self.verdicts) and self.client_failure_ratio < 0.01

    def lines(self) -> list[str]:
        return [v.line() for v in self.verdicts] + [
            f"clients: {self.client_requests} requests, {self.client_failures} failed "
            f"({self.client_failure_ratio:.2%}); Prometheus counted {self.prometheus_requests or 0:.0f}"]


def aggregated_row(stats_csv: Path) -> dict:
    with stats_csv.open() as fh:
        for row in csv.DictReader(fh):
            if row["Name"] == "Aggregated":
                return row
    raise HarnessError(f"{stats_csv} has no Aggregated row", "see locust.log beside it")


class LoadRun:
    """Locust in the background for a bounded time: start it, do something meanwhile, then judge."""

    def __init__(self, stack: Stack, out_dir: Path, users: int = 10, spawn_rate: float = 5, seconds: int = 60):
        self.stack, self.out_dir, self.users, self.spawn_rate, self.seconds = stack, out_dir, users, spawn_rate, seconds
        self.proc: subprocess.Popen | None = None
        self.started = 0.0

    def start(self, echo=print) -> LoadRun:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        host = self.stack.url("nginx")
        env = {**os.environ, "MS5H_ADMIN_PASSWORD": self.stack.secret("ADMIN_PASSWORD")}
        cmd = [str(Path(sys.executable).parent / "locust"), "-f", str(LOCUSTFILE), "--headless", "--host", host,
               "-u", str(self.users), "-r", str(self.spawn_rate), "-t", f"{self.seconds}s", "--stop-timeout", "5",
               "--csv", str(self.out_dir / "locust"), "--only-summary", "--exit-code-on-error", "0",
               "--logfile", str(self.out_dir / "locust.log")]
        echo(f"load: {self.users} users for {self.seconds}s against {host}")
        self.started = time.time()
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return self

    def wait(self) -> LoadResult:
        """Wait for Locust to stop its users, let Prometheus scrape, and judge the whole window."""
        try:
            output, _ = self.proc.communicate(timeout=self.seconds + 120)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        ended = time.time()
        if self.proc.returncode != 0:
            raise HarnessError(f"locust exited {self.proc.returncode}: {output.strip()[-300:]}",
                               f"see {self.out_dir / 'locust.log'}")
        row = aggregated_row(self.out_dir / "locust_stats.csv")
        time.sleep(SCRAPE_SETTLE_SECONDS)
        window = int(ended - self.started) + SCRAPE_SETTLE_SECONDS
        verdicts, counted = slo.evaluate(self.stack.url("prometheus"), window, at=self.started + window)
        result = LoadResult(self.users, round(ended - self.started, 1), int(row["Request Count"]),
                            int(row["Failure Count"]), counted, verdicts)
        (self.out_dir / "slo.json").write_text(json.dumps({**asdict(result), "passed": result.passed}, indent=2))
        return result


def run(stack: Stack, out_dir: Path, users: int = 10, spawn_rate: float = 5, seconds: int = 60,
        echo=print) -> LoadResult:
    """Drive `users` floor users for `seconds` (bounded: Locust stops them), then judge the window."""
    return LoadRun(stack, out_dir, users, spawn_rate, seconds).start(echo).wait()
