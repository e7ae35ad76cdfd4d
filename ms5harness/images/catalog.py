"""Which images the harness builds, and their content-addressed tags.

Project images come from Dockerfiles (images/<key>/Dockerfile and
backend/Dockerfile): the same files serve a registry build for AKS. Their tag is
a hash of the build context, so an unchanged image is never rebuilt and a
redeploy without changes is a no-op. An image may take files from elsewhere in
the repository into its context (REPO_FILES: the load image's locustfile); they
count in its hash like its own. A BinaryImage wraps one built command (the embedded
cluster's own images, ms5harness.cluster.node_images).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from ms5harness import paths

REGISTRY = "localhost/ms5"
BASE_IMAGE = "docker.io/library/debian:bookworm-slim"
IGNORED_PARTS = {"__pycache__", ".pytest_cache", "tests", "bench", ".venv"}
# Files of the repository an image's build context also holds, at the same relative path.
REPO_FILES: dict[str, tuple[str, ...]] = {
    "locust": ("loadtests/locustfile.py", "ms5harness/__init__.py", "ms5harness/names.py"),
}


@dataclass(frozen=True)
class DockerfileImage:
    key: str  # values key in the chart (images.<key>) and repository name
    context: Path
    repo: Path = paths.REPO_ROOT  # where REPO_FILES are taken from

    @property
    def dockerfile(self) -> Path:
        return self.context / "Dockerfile"

    @property
    def extra_files(self) -> dict[str, Path]:
        """The repository's files this image's context holds besides its own directory, by path in the context."""
        return {name: self.repo / name for name in REPO_FILES.get(self.key, ())}

    @property
    def tag(self) -> str:
        return context_hash(self.context, self.extra_files)

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
    """The context's files; an ignored directory is not even walked (the backend's .venv alone holds
    some 100,000 files, which took every deploy 8 s to list)."""
    found = []
    for directory, subdirs, names in os.walk(context):
        subdirs[:] = [d for d in subdirs if d not in IGNORED_PARTS]
        found += [Path(directory, n) for n in names if n not in IGNORED_PARTS and not n.endswith(".pyc")]
    return sorted(p for p in found if p.is_file())


def context_hash(context: Path, extra: dict[str, Path] | None = None) -> str:
    """A hash of every file of the build context: the directory's own, and `extra` (name in the context: file)."""
    files = {str(path.relative_to(context)): path for path in context_files(context)}
    files.update(extra or {})
    digest = hashlib.sha256()
    for name in sorted(files, key=Path):  # in path order, as the tags have always been computed
        digest.update(name.encode() + b"\0")
        digest.update(files[name].read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def project_images(repo: Path = paths.REPO_ROOT) -> list[DockerfileImage]:
    found = [DockerfileImage(d.parent.name, d.parent, repo) for d in sorted((repo / "images").glob("*/Dockerfile"))]
    if (repo / "backend" / "Dockerfile").exists():
        found.insert(0, DockerfileImage("backend", repo / "backend", repo))
    return found
