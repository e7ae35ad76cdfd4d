"""Build images offline with buildah and export them as archives containerd can import.

Buildah's storage and the exported archives live in the cache directory, keyed
by tag, so warm runs skip every build. The Debian base image is made once with
mmdebstrap and named like the registry image the Dockerfiles start from.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ms5harness import paths, tools
from ms5harness.errors import HarnessError
from ms5harness.images.catalog import BASE_IMAGE, BinaryImage, DockerfileImage

CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def buildah_cmd() -> list[str]:
    if shutil.which("buildah") is None:
        raise HarnessError("buildah is not installed", "run scripts/install-host-deps.sh")
    return [
        "buildah",
        "--root", str(paths.cache_dir() / "buildah" / "storage"),
        "--runroot", "/run/ms5harness-buildah",
        "--storage-driver", "overlay",
    ]


def archive_path(ref: str) -> Path:
    name = ref.split("/")[-1].replace(":", "_")
    return paths.cache_dir() / "images" / f"{name}.tar"


def _run(cmd: list[str], what: str, log: Path | None = None) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as fh:
            fh.write(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or ["no output"])[-1]
        raise HarnessError(f"{what} failed: {last}", f"see {log}" if log else "")
    return proc.stdout


def has_image(ref: str) -> bool:
    return subprocess.run([*buildah_cmd(), "inspect", "--type", "image", ref], capture_output=True).returncode == 0


def ensure_base_image(log: Path) -> None:
    """Debian bookworm minbase from Debian's own mirror, named as the registry image."""
    if has_image(BASE_IMAGE):
        return
    if shutil.which("mmdebstrap") is None:
        raise HarnessError("mmdebstrap is not installed", "run scripts/install-host-deps.sh")
    rootfs = paths.cache_dir() / "images" / "debian-bookworm-rootfs.tar"
    rootfs.parent.mkdir(parents=True, exist_ok=True)
    if not rootfs.exists():
        tmp = rootfs.with_suffix(".partial")
        _run(["mmdebstrap", "--quiet", "--variant=minbase", "--include=ca-certificates",
              "--aptopt=Acquire::Retries \"3\"", "bookworm", str(tmp)], "mmdebstrap of Debian bookworm", log)
        tmp.rename(rootfs)
    bah = buildah_cmd()
    container = _run([*bah, "from", "scratch"], "buildah from scratch", log).strip()
    try:
        _run([*bah, "add", container, str(rootfs), "/"], "adding the Debian rootfs", log)
        _run([*bah, "config", "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
              "--cmd", "bash", container], "configuring the base image", log)
        _run([*bah, "commit", "--quiet", container, BASE_IMAGE], "committing the base image", log)
    finally:
        subprocess.run([*bah, "rm", container], capture_output=True)


@contextmanager
def build_context(image: DockerfileImage) -> Iterator[Path]:
    """The directory buildah builds from: the image's own, or a copy of it with the repository files
    the catalog adds (catalog.REPO_FILES) at their relative paths."""
    if not image.extra_files:
        yield image.context
        return
    with tempfile.TemporaryDirectory(prefix=f"ms5h-context-{image.key}-") as tmp:
        context = Path(tmp) / image.key
        shutil.copytree(image.context, context, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for name, source in image.extra_files.items():
            (context / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, context / name)
        yield context


def build_dockerfile_image(image: DockerfileImage, log: Path) -> None:
    if has_image(image.ref):
        return
    ensure_base_image(log)
    with build_context(image) as context:
        cmd = [*buildah_cmd(), "bud", "--pull=never", "--isolation", "chroot", "--layers=false",
               "-f", str(context / "Dockerfile"), "-t", image.ref]
        if CA_BUNDLE.exists():
            # pip inside a build reaches PyPI only with this machine's CA bundle
            cmd += ["-v", "/etc/ssl/certs:/etc/ssl/certs:ro", "--build-arg", f"PIP_CERT={CA_BUNDLE}"]
        _run([*cmd, str(context)], f"building image {image.key}", log)


def build_binary_image(image: BinaryImage, log: Path) -> None:
    if has_image(image.ref):
        return
    source = Path(image.binary) if image.binary.startswith("/") else tools.binary(image.binary)
    bah = buildah_cmd()
    container = _run([*bah, "from", "scratch"], "buildah from scratch", log).strip()
    try:
        _run([*bah, "copy", container, str(source), image.entrypoint[0]], f"copying {source}", log)
        entrypoint = "[" + ",".join(f'"{part}"' for part in image.entrypoint) + "]"
        _run([*bah, "config", "--entrypoint", entrypoint, "--user", image.user, container],
             f"configuring image {image.key}", log)
        _run([*bah, "commit", "--quiet", container, image.ref], f"committing image {image.key}", log)
    finally:
        subprocess.run([*bah, "rm", container], capture_output=True)


def export_archive(ref: str, log: Path) -> Path:
    """A docker-archive tarball: its RepoTags name the image when containerd imports it."""
    target = archive_path(ref)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".partial")
    tmp.unlink(missing_ok=True)
    _run([*buildah_cmd(), "push", "--quiet", ref, f"docker-archive:{tmp}:{ref}"], f"exporting {ref}", log)
    tmp.rename(target)
    return target


def build(image: DockerfileImage | BinaryImage, echo=print) -> Path:
    """Build (if needed) and export one image; returns its archive."""
    log = paths.cache_dir() / "logs" / f"image-{image.key}.log"
    if archive_path(image.ref).exists():
        return archive_path(image.ref)
    start = time.monotonic()
    echo(f"image {image.ref}: building (log: {log})")
    if isinstance(image, DockerfileImage):
        build_dockerfile_image(image, log)
    else:
        build_binary_image(image, log)
    archive = export_archive(image.ref, log)
    echo(f"image {image.ref}: built in {time.monotonic() - start:.0f}s")
    return archive
