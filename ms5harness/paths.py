"""Where the harness keeps its caches, cluster state and run outputs, and where the chart is.

Caches live outside the repository (they survive sessions and CI on the same
machine); cluster state is per cluster name; reports live in the repo's
git-ignored reports/ directory.
"""

from __future__ import annotations

import os
from pathlib import Path

from ms5harness.errors import HarnessError

REPO_ROOT = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """Build cache for Go binaries, Go module/build caches and image archives."""
    return Path(os.environ.get("MS5H_CACHE", "/var/cache/ms5harness"))


def state_dir() -> Path:
    """Runtime state of the embedded cluster: certs, configs, data, logs, pids."""
    return Path(os.environ.get("MS5H_STATE", "/var/lib/ms5harness"))


def reports_dir() -> Path:
    return Path(os.environ.get("MS5H_REPORTS", REPO_ROOT / "reports"))


CHART_DIR = REPO_ROOT / "manifests" / "helm" / "ms5-dashboard"
K8S_DIR = REPO_ROOT / "manifests" / "k8s"
PROFILES = ("local", "aks")


def values_files(profile: str) -> list[Path]:
    """The chart's values files for a profile: values.yaml is always read by Helm; a profile adds its
    file on top ('default' adds none)."""
    if profile == "default":
        return []
    if profile not in PROFILES:
        raise HarnessError(f"unknown profile {profile!r}", f"choose one of {', '.join(PROFILES)}")
    return [CHART_DIR / f"values-{profile}.yaml"]
