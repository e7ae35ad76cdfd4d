"""Which images the harness builds, and their content-addressed tags.

Project images come from Dockerfiles (images/<key>/Dockerfile and
backend/Dockerfile): the same files serve a registry build for AKS. Their tag is
a hash of the build context, so an unchanged image is never rebuilt and a
redeploy without changes is a no-op. A BinaryImage wraps one built command (the embedded
cluster's own images, ms5harness.cluster.node_images).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ms5harness import paths

REGISTRY = "localhost/ms5"
BASE_IMAGE = "docker.io/library/debian:bookworm-slim"
IGNORED_PARTS = {"__pycache__", ".pytest_cache", "tests", "bench", ".venv"}


@dataclass(frozen=True)
class DockerfileImage:
    key: str  # values key in the chart (images.<key>) and repository name
    context: Path

    @property
    def dockerfile(self) -> Path:
        return self.context / "Dockerfile"

    @property
    def tag(self) -> str:
        return context_hash(self.context)

    @property
    def ref(self) -> str:
        return f"{REGISTRY}/{self.key}:{self.tag}"


@dataclass(frozen=True)
class BinaryImage:
    """A FROM-scratch image holding one static binary (cluster add-ons and the pause image)."""

    key: str
    tag: str
    binary: str  # a command ms5harness.tools.binary finds, or an absolute host path
    entrypoint: tuple[str, ...]
    user: str = "65534:65534"

    @property
    def ref(self) -> str:
        return f"{REGISTRY}/{self.key}:{self.tag}"


def context_files(context: Path) -> list[Path]:
    return sorted(
        p for p in context.rglob("*")
        if p.is_file() and not (IGNORED_PARTS & set(p.relative_to(context).parts)) and p.suffix != ".pyc"
    )


def context_hash(context: Path) -> str:
    digest = hashlib.sha256()
    for path in context_files(context):
        digest.update(str(path.relative_to(context)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def project_images(repo: Path = paths.REPO_ROOT) -> list[DockerfileImage]:
    found = [DockerfileImage(d.parent.name, d.parent) for d in sorted((repo / "images").glob("*/Dockerfile"))]
    if (repo / "backend" / "Dockerfile").exists():
        found.insert(0, DockerfileImage("backend", repo / "backend"))
    return found
