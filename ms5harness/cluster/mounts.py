"""The mounts a node leaves (volumes, overlay roots, namespaces) and their removal."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ms5harness.errors import HarnessError


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


def remove_mounts(roots: tuple[Path, ...]) -> None:
    """Unmount everything under roots; raise one line when something stays mounted."""
    unmount_under(roots)
    leftovers = mounts_under(roots)
    if leftovers:
        raise HarnessError(f"{len(leftovers)} mounts remain under {roots[0]}, e.g. {leftovers[0]}",
                           "unmount them by hand, then run `cluster down` again")
