"""The mounts a node leaves (volumes, overlay roots, namespaces) and their removal."""

from __future__ import annotations

import subprocess
from pathlib import Path


def mounts_under(roots: tuple[Path, ...]) -> list[str]:
    prefixes = tuple(str(r) + "/" for r in roots) + tuple(str(r) for r in roots)
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point.startswith(prefixes):
            points.append(point)
    return points


def unmount_under(roots: tuple[Path, ...]) -> None:
    for point in sorted(set(mounts_under(roots)), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)
