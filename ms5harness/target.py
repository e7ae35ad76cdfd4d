"""Which cluster a run talks to: the user's kubeconfig, or the embedded default.

With pytest-xdist several workers resolve the target at once; a file lock makes
exactly one of them bring the embedded cluster up while the others wait.
"""

from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ms5harness.cluster.embedded import EmbeddedCluster
from ms5harness.images import builder
from ms5harness.images.catalog import DockerfileImage
from ms5harness.kube.client import Kube, connect

LOCK = Path("/run/lock/ms5harness.lock")
_held = threading.local()


@contextmanager
def machine_lock() -> Iterator[None]:
    """Exclusive across processes, re-entrant within one (deploy inside a locked fixture)."""
    if getattr(_held, "depth", 0):
        _held.depth += 1
        try:
            yield
        finally:
            _held.depth -= 1
        return
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with LOCK.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        _held.depth = 1
        try:
            yield
        finally:
            _held.depth = 0
            fcntl.flock(fh, fcntl.LOCK_UN)


@dataclass
class Target:
    kube: Kube
    embedded: EmbeddedCluster | None

    @property
    def kubeconfig(self) -> Path:
        return self.kube.kubeconfig

    def ensure_image(self, image: DockerfileImage, registry: str = "") -> str:
        """Build and import an image on the embedded node; another cluster pulls it from `registry`
        (pushed there with the same content tag, docs/aks.md)."""
        if self.embedded is not None:
            with machine_lock():
                self.embedded.load_image(image.ref, builder.build(image))
            return image.ref
        return f"{registry}/{image.key}:{image.tag}" if registry else image.ref


def resolve(kubeconfig: str | None, echo=print, nodes: int | None = None) -> Target:
    """Connect to the given kubeconfig, or bring the embedded cluster up (idempotent; with `nodes`, in
    that shape) and use it."""
    chosen = kubeconfig or os.environ.get("MS5H_KUBECONFIG")
    if chosen:
        return Target(connect(Path(chosen).expanduser()), None)
    cluster = EmbeddedCluster(echo=echo, nodes=nodes)
    with machine_lock():
        path = cluster.up()
    return Target(connect(path), cluster)
