"""Start, watch and stop the node's host processes, each with a pid file and a log.

Processes are started in their own session so that `down` can stop a process
and everything it spawned, and so that they outlive the CLI that started them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

STOP_SECONDS = 8.0  # SIGTERM to exit: etcd and the apiserver flush and close in a few seconds
KILL_SECONDS = 5  # after SIGKILL, until the process is gone


@dataclass(frozen=True)
class Process:
    name: str
    argv: list[str]
    pid_dir: Path
    log_dir: Path
    env: dict[str, str] | None = None
    cgroup: str = "/"  # a worker node's subtree (cgroup v1, every controller): freezing or killing it takes the node

    @property
    def pid_file(self) -> Path:
        return self.pid_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.name}.log"


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def is_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, IndexError):
        return False


def running_pid(proc: Process) -> int | None:
    pid = read_pid(proc.pid_file)
    return pid if is_alive(pid) else None


def start(proc: Process) -> int:
    """Start proc unless it already runs; returns its pid."""
    pid = running_pid(proc)
    if pid:
        return pid
    proc.pid_dir.mkdir(parents=True, exist_ok=True)
    proc.log_dir.mkdir(parents=True, exist_ok=True)
    with proc.log_file.open("ab") as log:
        log.write(f"\n==> {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {' '.join(proc.argv)}\n".encode())
        log.flush()
        child = subprocess.Popen(
            proc.argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(proc.env or {})},
            preexec_fn=(lambda: join_cgroup(proc.cgroup)) if proc.cgroup != "/" else None,
        )
    proc.pid_file.write_text(f"{child.pid}\n")
    return child.pid


CGROUP_V1 = Path("/sys/fs/cgroup")


def cgroup_controllers() -> list[Path]:
    """The v1 hierarchies (cpu, memory, pids, freezer, ..., name=systemd), not the unified one."""
    return sorted(p for p in CGROUP_V1.iterdir() if p.is_dir() and p.name != "unified" and (p / "cgroup.procs").exists())


def join_cgroup(path: str) -> None:
    """Move the calling process into path/system of every hierarchy (created by the node's start)."""
    for controller in cgroup_controllers():
        (controller / path.strip("/") / "system" / "cgroup.procs").write_text(str(os.getpid()))


def stop(proc: Process, timeout: float = STOP_SECONDS) -> bool:
    """SIGTERM the process group, SIGKILL after timeout; True if something was stopped."""
    pid = read_pid(proc.pid_file)
    stopped = False
    if is_alive(pid):
        stopped = True
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while is_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if is_alive(pid):
            _signal_group(pid, signal.SIGKILL)
            wait_until(lambda: not is_alive(pid), KILL_SECONDS, 0.05)
    proc.pid_file.unlink(missing_ok=True)
    return stopped


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.5) -> bool:
    """Poll check() until it is true or timeout seconds pass (bounded, never forever)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return True
        except Exception:  # a probe that errors is simply "not yet"
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""
