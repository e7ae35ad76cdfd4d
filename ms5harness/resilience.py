"""Chaos under load: an experiment played while the floor's load runs, so the journal (what broke,
how long writes failed, whether an acknowledged write was lost) sits beside what the clients and
the SLOs saw over the same window, and the error-budget burn rate of that window."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ms5harness import paths
from ms5harness.errors import HarnessError
from ms5harness.load import LoadResult, LoadRun
from ms5harness.verify.stack import Stack

EXPERIMENTS = paths.REPO_ROOT / "experiments"
AVAILABILITY_TARGET = 0.999


@dataclass
class Resilience:
    experiment: str
    journal: dict
    load: LoadResult

    @property
    def hypothesis_held(self) -> bool:
        return self.journal.get("status") == "completed" and not self.journal.get("deviated") and \
            all(r["status"] == "succeeded" for r in self.journal.get("run", []))

    @property
    def lost_writes(self) -> list[str]:
        return [ref for r in self.journal.get("run", []) if isinstance(r.get("output"), dict)
                for ref in r["output"].get("lost", [])]

    @property
    def burn_rate(self) -> float:
        """How many times faster than the 99.9 % budget allows the clients' failures burned it."""
        return self.load.client_failure_ratio / (1 - AVAILABILITY_TARGET)

    def lines(self) -> list[str]:
        return [f"{self.experiment}: hypothesis {'held' if self.hypothesis_held else 'NOT held'}, "
                f"{len(self.lost_writes)} acknowledged writes lost, error-budget burn rate {self.burn_rate:.1f}x",
                *self.load.lines()]


def under_load(stack: Stack, experiment: str, out_dir: Path, users: int = 10, seconds: int = 150,
               warmup: int = 20, echo=print) -> Resilience:
    """Start the load, let it settle for `warmup` seconds, play the experiment, wait for the load to end."""
    source = EXPERIMENTS / f"{experiment}.json"
    if not source.exists():
        known = ", ".join(sorted(p.stem for p in EXPERIMENTS.glob("*.json")))
        raise HarnessError(f"no experiment {experiment!r} in experiments/", f"choose one of {known}")
    journal_path = out_dir / "journals" / f"{experiment}-under-load.json"
    journal_path.parent.mkdir(parents=True, exist_ok=True)
    load = LoadRun(stack, out_dir / "load" / experiment, users, seconds=seconds).start(echo)
    try:
        time.sleep(warmup)
        env = {**os.environ, "MS5H_NAMESPACE": stack.namespace, "MS5H_API_URL": stack.url("nginx")}
        if stack.target.embedded is None:
            env["MS5H_KUBECONFIG"] = str(stack.target.kubeconfig)
        echo(f"chaos run {source.relative_to(paths.REPO_ROOT)} under load")
        subprocess.run([str(Path(sys.executable).parent / "chaos"), "run", str(source), "--journal-path",
                        str(journal_path)], env=env, capture_output=True, text=True, timeout=seconds + 600)
    finally:
        result = load.wait()
    if not journal_path.exists():
        raise HarnessError(f"chaos run {experiment} wrote no journal", "run it by hand to see why")
    return Resilience(experiment, json.loads(journal_path.read_text()), result)
