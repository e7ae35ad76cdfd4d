"""Build the pinned Go binaries (the cluster, helm, the fault proxy, kube-score) from the module proxy into a cache.

Each component is built inside a small generated wrapper module: Kubernetes and
etcd cannot be `go install`ed directly because their own go.mod files replace
sibling modules with paths that are not in the published module zips.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ms5harness import paths, tools
from ms5harness.cluster import versions
from ms5harness.errors import HarnessError

PROGRESS_EVERY_SECONDS = 30  # a cold Kubernetes build is otherwise silent for ten minutes and more


@dataclass(frozen=True)
class GoComponent:
    """One thing to build: a module at a pinned version and the commands it yields."""

    name: str
    module: str
    version: str
    packages: tuple[str, ...]
    main_go: str = ""  # a wrapper main package, when the module ships no usable one
    command: str = ""  # the one command's name, where it is not its package's last element
    extra_requires: tuple[str, ...] = ()
    # Newer versions of vulnerable dependencies than the release pins (module@version).
    dependency_bumps: tuple[str, ...] = ()
    ldflags: str = "-s -w"
    godebug: str = ""
    node: bool = True  # the embedded node runs it, so `cluster up` builds it when missing

    @property
    def cache_key(self) -> str:
        key = f"{self.name}-{self.version}"
        if self.dependency_bumps:
            key += "-deps" + hashlib.sha256(" ".join(self.dependency_bumps).encode()).hexdigest()[:8]
        return key

    @property
    def binaries(self) -> tuple[str, ...]:
        if self.main_go:
            return (self.name,)
        if self.command:
            return (self.command,)
        return tuple(p.rstrip("/").split("/")[-1] for p in self.packages)


def _k8s_ldflags(version: str) -> str:
    major, minor = version.lstrip("v").split(".")[:2]
    flags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={version}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
        ]
    return " ".join(flags)


ETCD_MAIN = """package main

import (
\t"os"

\t"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
"""

COMPONENTS: tuple[GoComponent, ...] = (
    GoComponent(
        name="kubernetes",
        module="k8s.io/kubernetes",
        version=versions.KUBERNETES,
        packages=tuple(f"k8s.io/kubernetes/cmd/{c}" for c in versions.KUBERNETES_COMMANDS),
        ldflags=_k8s_ldflags(versions.KUBERNETES),
        godebug="default=go1.24",
    ),
    GoComponent(
        name="etcd",
        module="go.etcd.io/etcd/server/v3",
        version=versions.ETCD,
        packages=(".",),
        main_go=ETCD_MAIN,
        extra_requires=tuple(
            f"go.etcd.io/etcd/{m}@{versions.ETCD}" for m in ("api/v3", "client/pkg/v3", "client/v3", "pkg/v3")
        ),
    ),
    GoComponent(
        name="coredns",
        module="github.com/coredns/coredns",
        version=versions.COREDNS,
        packages=("github.com/coredns/coredns",),
    ),
    GoComponent(
        name="kube-router",
        module="github.com/cloudnativelabs/kube-router/v2",
        version=versions.KUBE_ROUTER,
        packages=("github.com/cloudnativelabs/kube-router/v2/cmd/kube-router",),
        # v2.1.0 is the only v2 release served here; its reported flaws are in its
        # golang.org/x dependencies, so build it against fixed ones (as distributions do).
        dependency_bumps=("golang.org/x/net@v0.62.0", "golang.org/x/crypto@v0.59.0", "golang.org/x/sys@v0.50.0",
                          "golang.org/x/text@v0.44.0", "golang.org/x/oauth2@v0.38.0"),
    ),
    GoComponent(
        name="metrics-server",
        module="sigs.k8s.io/metrics-server",
        version=versions.METRICS_SERVER,
        packages=("sigs.k8s.io/metrics-server/cmd/metrics-server",),
    ),
    GoComponent(
        name="helm",
        module="helm.sh/helm/v3",
        version=versions.HELM,
        packages=("helm.sh/helm/v3/cmd/helm",),
        node=False,
    ),
    GoComponent(
        name="toxiproxy",
        module="github.com/Shopify/toxiproxy/v2",
        version=versions.TOXIPROXY,
        packages=("github.com/Shopify/toxiproxy/v2/cmd/server",),
        command="toxiproxy-server",  # its package is cmd/server; upstream ships it under this name
        ldflags=f"-s -w -X github.com/Shopify/toxiproxy/v2.Version={versions.TOXIPROXY.lstrip('v')}",  # /version
    ),
    GoComponent(
        name="kube-score",
        module="github.com/zegl/kube-score",
        version=versions.KUBE_SCORE,
        packages=("github.com/zegl/kube-score/cmd/kube-score",),
        ldflags=f"-s -w -X main.version={versions.KUBE_SCORE.lstrip('v')}",  # `kube-score version`
        node=False,  # the static suite's scanner (ms5harness.chart.scanners)
    ),
)


def component(name: str) -> GoComponent:
    for c in COMPONENTS:
        if c.name == name:
            return c
    raise HarnessError(f"unknown component {name!r}", f"choose one of {', '.join(c.name for c in COMPONENTS)}")


def bin_dir(comp: GoComponent) -> Path:
    return paths.cache_dir() / "bin" / comp.cache_key


def is_built(comp: GoComponent) -> bool:
    return (bin_dir(comp) / ".complete").exists()


def publish() -> None:
    """Record every command of the pinned components that are built, for ms5harness.tools.binary;
    the record is replaced, so a command of an older pin is never served after a version change."""
    tools.record({name: bin_dir(c) / name for c in COMPONENTS if is_built(c) for name in c.binaries})


def go_env() -> dict[str, str]:
    cache = paths.cache_dir() / "go"
    env = dict(os.environ)
    env.update(
        GOMODCACHE=str(cache / "mod"),
        GOCACHE=str(cache / "build"),
        GOPATH=str(cache / "path"),
        CGO_ENABLED="0",
        GOTOOLCHAIN="local",
        GOFLAGS="-mod=mod -buildvcs=false",
    )
    return env


def staging_replaces(comp: GoComponent, env: dict[str, str]) -> list[str]:
    """Kubernetes' own go.mod maps every staging module to ./staging; map them to published versions."""
    out = _go(["go", "mod", "download", "-json", f"{comp.module}@{comp.version}"], Path.cwd(), env, None)
    gomod = Path(json.loads(out)["GoMod"]).read_text()
    staging_version = "v0." + comp.version.lstrip("v").split(".", 1)[1]
    replaces = []
    for line in gomod.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] == "=>" and parts[2].startswith("./staging/"):
            replaces.append(f"\t{parts[0]} => {parts[0]} {staging_version}")
    if not replaces:
        raise HarnessError(f"found no staging modules in {comp.module}@{comp.version}'s go.mod")
    return replaces


def wrapper_gomod(comp: GoComponent, replaces: list[str]) -> str:
    lines = [f"module ms5harness.local/build/{comp.name}", "", "go 1.25.0", ""]
    if comp.godebug:
        lines += [f"godebug {comp.godebug}", ""]
    if replaces:
        lines += ["replace (", *replaces, ")", ""]
    return "\n".join(lines)


def _go(cmd: list[str], cwd: Path, env: dict[str, str], log: Path | None) -> str:
    if log is not None:
        with log.open("a") as fh:
            fh.write(f"$ {' '.join(cmd)}\n")
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if log is not None:
        with log.open("a") as fh:
            fh.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise HarnessError(
            f"`{' '.join(cmd[:3])}` failed: {last}",
            f"see {log}" if log else "check network access to the Go module proxy",
        )
    return proc.stdout


def build(comp: GoComponent, force: bool = False) -> float:
    """Build one component unless its versioned output exists; returns seconds spent."""
    if is_built(comp) and not force:
        return 0.0
    if shutil.which("go") is None:
        raise HarnessError("the Go toolchain is not installed", "install Go >= 1.25 (see README)")
    start = time.monotonic()
    env = go_env()
    work = paths.cache_dir() / "src" / comp.cache_key
    logs = paths.cache_dir() / "logs"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"build-{comp.name}.log"
    log.write_text(f"building {comp.name} {comp.version}\n")
    replaces = staging_replaces(comp, env) if comp.name == "kubernetes" else []
    (work / "go.mod").write_text(wrapper_gomod(comp, replaces))
    if comp.main_go:
        (work / "main.go").write_text(comp.main_go)
        _go(["go", "get", f"{comp.module}@{comp.version}", *comp.extra_requires], work, env, log)
        _go(["go", "mod", "tidy"], work, env, log)
    else:
        _go(["go", "get", "-tool", *(f"{p}@{comp.version}" for p in comp.packages)], work, env, log)
    if comp.dependency_bumps:
        _go(["go", "get", *comp.dependency_bumps], work, env, log)
    out = bin_dir(comp)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    target = str(tmp / comp.binaries[0]) if comp.main_go or comp.command else str(tmp) + "/"
    _go(["go", "build", "-trimpath", "-ldflags", comp.ldflags, "-o", target, *comp.packages], work, env, log)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    seconds = time.monotonic() - start
    (out / ".complete").write_text(f"{seconds:.0f}\n")
    publish()
    return seconds


def recorded_seconds(comp: GoComponent) -> float | None:
    """How long the last build of this component took (its `.complete` marker), or of an earlier
    version of it when this one was never built: what a cold build can expect."""
    markers = [bin_dir(comp) / ".complete"] + sorted(
        (paths.cache_dir() / "bin").glob(f"{comp.name}-v*/.complete"), key=lambda p: p.stat().st_mtime, reverse=True)
    for marker in markers:
        try:
            return float(marker.read_text())
        except (OSError, ValueError):
            continue
    return None


@contextmanager
def progress(label: str, expected: float | None, echo) -> Iterator[None]:
    """A line every PROGRESS_EVERY_SECONDS while a component builds: time so far, and the last build's."""
    done = threading.Event()
    start = time.monotonic()
    hint = f" (last build took {expected:.0f}s)" if expected else ""

    def tick() -> None:
        while not done.wait(PROGRESS_EVERY_SECONDS):
            echo(f"{label}: still building, {time.monotonic() - start:.0f}s so far{hint}")

    ticker = threading.Thread(target=tick, name=f"progress {label}", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()


def build_all(force: bool = False, echo=print, components: tuple[GoComponent, ...] = COMPONENTS) -> dict[str, float]:
    """Build the components (all by default), one line each, and one every 30 s while one builds."""
    timings = {}
    for number, comp in enumerate(components, 1):
        label = f"[{number}/{len(components)}] {comp.name} {comp.version}"
        if is_built(comp) and not force:
            echo(f"{label}: cached in {bin_dir(comp)}")
            timings[comp.name] = 0.0
            continue
        expected = recorded_seconds(comp)
        echo(f"{label}: building" + (f", about {expected:.0f}s last time" if expected else "")
             + f" (log: {paths.cache_dir() / 'logs' / f'build-{comp.name}.log'})")
        with progress(label, expected, echo):
            timings[comp.name] = build(comp, force)
        echo(f"{label}: built in {timings[comp.name]:.0f}s")
    publish()
    return timings
