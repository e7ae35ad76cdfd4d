"""The commands the harness runs (helm, kubectl, the cluster's own binaries): where they are, and
one bounded way to run kubectl and helm.

The cluster build (`ms5harness cluster build`, ms5harness.cluster.build) puts every pinned command
into the cache and records its path here; everything else reads the record, so the chart, the
reports and the tests find helm and kubectl without knowing how they were built.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from ms5harness import paths
from ms5harness.errors import HarnessError

KUBECTL_SECONDS = 120  # a kubectl call that waits for nothing (get, apply, auth can-i, describe)
HELM_SECONDS = 120  # a helm command that waits for nothing (template, lint, get, dry-run)
EXIT_GRACE_SECONDS = 60  # beyond the --timeout a command itself was given, before we stop waiting


def record_path() -> Path:
    return paths.cache_dir() / "bin" / "tools.json"


def record(commands: dict[str, Path]) -> None:
    """Replace the record with these commands (the build writes every pinned command it has built).
    Written to a temporary file and renamed: parallel test workers may be reading it."""
    path = record_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({name: str(p) for name, p in sorted(commands.items())}, indent=1) + "\n")
    tmp.rename(path)


def binary(name: str) -> Path:
    """Path of a built command, e.g. binary('kubectl'); raises if the build has not recorded it."""
    try:
        recorded = json.loads(record_path().read_text())
    except FileNotFoundError:
        recorded = {}
    if name not in recorded or not Path(recorded[name]).exists():
        raise HarnessError(f"{name} is not built", "run `ms5harness cluster build`")
    return Path(recorded[name])


def last_line(text: str) -> str:
    return (text.strip().splitlines() or ["no output"])[-1]


def run(tool: str, kubeconfig: Path | None, *args: str, stdin: str | None = None, seconds: float,
        check: bool = True,
        failure: Callable[[subprocess.CompletedProcess], HarnessError] | None = None) -> subprocess.CompletedProcess:
    """`tool --kubeconfig K args...`, bounded by `seconds`: a command that outlives it, or exits
    non-zero when `check`, is one HarnessError line (`failure` words it, e.g. Helm's schema errors)
    instead of a traceback or a silent result."""
    cmd = [str(binary(tool)), *(["--kubeconfig", str(kubeconfig)] if kubeconfig else []), *args]
    try:
        proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=seconds)
    except subprocess.TimeoutExpired:
        raise HarnessError(f"{tool} {args[0]} did not finish in {seconds:.0f}s",
                           "check the API server's health, or raise --timeout") from None
    if check and proc.returncode != 0:
        if failure is not None:
            raise failure(proc)
        raise HarnessError(f"{tool} {' '.join(args[:2])} failed: {last_line(proc.stderr)}")
    return proc
