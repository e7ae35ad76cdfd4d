"""Load image archives into the node's containerd (the `k8s.io` namespace the CRI uses)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ms5harness.errors import HarnessError


def ctr(socket: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ctr", "--address", str(socket), "--namespace", "k8s.io", *args],
                          capture_output=True, text=True)


def loaded_refs(socket: Path) -> set[str]:
    proc = ctr(socket, "images", "list", "--quiet")
    if proc.returncode != 0:
        raise HarnessError(f"cannot list containerd images: {proc.stderr.strip()}", "is the cluster up?")
    return set(proc.stdout.split())


def load(socket: Path, ref: str, archive: Path) -> bool:
    """Import archive unless ref is already present; True if it was imported."""
    if ref in loaded_refs(socket):
        return False
    proc = ctr(socket, "images", "import", str(archive))
    if proc.returncode != 0:
        raise HarnessError(f"importing {ref} into containerd failed: {proc.stderr.strip()}",
                           f"delete {archive} and rebuild it")
    if ref not in loaded_refs(socket):
        raise HarnessError(f"{archive} did not contain {ref}", f"delete {archive} and rebuild it")
    return True
