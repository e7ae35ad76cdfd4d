"""Benchmark of the embedded cluster: build, warm `up`, `down`, idle cost per node.

Prints figures; it asserts nothing. Targets on the 2-core machine: warm up <= 60 s
(one node) and <= 90 s (three), down <= 10 s, idle control plane <= 1.5 GB RSS.

    python benchmarks/cluster.py [--nodes 3] [--runs 3] [--idle-seconds 60] [--cold]

--cold rebuilds every Go component into an empty cache (module and build caches
too) to measure a fresh machine; without it the recorded durations of the last
cold build are reported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ms5harness.cluster import build  # noqa: E402
from ms5harness.cluster.components import NODE_COMPONENTS, pid_of  # noqa: E402
from ms5harness.cluster.embedded import NAMES, EmbeddedCluster  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cold_build() -> None:
    with tempfile.TemporaryDirectory(prefix="ms5h-cold-") as tmp:
        os.environ["MS5H_CACHE"] = tmp
        print(f"cold build into {tmp} (empty module and build caches)")
        total = sum(build.build_all(echo=lambda m: print("  " + m)).values())
        print(f"cold build total: {total:.0f}s")
    os.environ.pop("MS5H_CACHE")


def recorded_builds() -> None:
    print("last cold build per component (recorded in the cache):")
    total = 0.0
    for comp in build.COMPONENTS:
        seconds = build.recorded_seconds(comp) if build.is_built(comp) else float("nan")
        total += seconds
        print(f"  {comp.name:<16} {comp.version:<10} {seconds:6.0f}s")
    print(f"  {'total':<27} {total:6.0f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle-seconds", type=int, default=60)
    parser.add_argument("--cold", action="store_true")
    parser.add_argument("--nodes", type=int, default=1, help="nodes the cluster is brought up with")
    args = parser.parse_args()

    if args.cold:
        cold_build()
    recorded_builds()

    cluster = EmbeddedCluster(echo=lambda _m: None, nodes=args.nodes)
    ups, downs = [], []
    cluster.down()
    for _ in range(args.runs):
        t0 = time.monotonic()
        cluster.up()
        ups.append(time.monotonic() - t0)
        t0 = time.monotonic()
        cluster.down()
        downs.append(time.monotonic() - t0)
    print(f"warm `cluster up --nodes {args.nodes}` to every node Ready + add-ons: median {statistics.median(ups):.1f}s "
          f"(runs: {', '.join(f'{u:.1f}' for u in ups)})")
    print(f"`cluster down`: median {statistics.median(downs):.1f}s (runs: {', '.join(f'{d:.1f}' for d in downs)})")

    cluster.up()
    time.sleep(30)  # let start-up work settle
    pids = {name: cluster.pid_of(name) for name in NAMES}
    for worker in cluster.workers:
        pids |= {f"{worker.name}/{c.name}": pid_of(worker.spec, c.name) for c in NODE_COMPONENTS}
    before = {n: cpu_seconds(p) for n, p in pids.items()}
    time.sleep(args.idle_seconds)
    print(f"idle cost over {args.idle_seconds}s (host processes):")
    total_cpu = total_rss = 0.0
    for name, pid in pids.items():
        cores = (cpu_seconds(pid) - before[name]) / args.idle_seconds
        rss = rss_mib(pid)
        total_cpu += cores
        total_rss += rss
        print(f"  {name:<30} cpu {cores * 1000:6.0f}m  rss {rss:7.1f} MiB")
    print(f"  {'total':<30} cpu {total_cpu * 1000:6.0f}m  rss {total_rss:7.1f} MiB")
    for worker in cluster.workers:
        names = [n for n in pids if n.startswith(f"{worker.name}/")]
        cpu = sum(cpu_seconds(pids[n]) - before[n] for n in names) / args.idle_seconds
        print(f"  per worker {worker.name:<13} cpu {cpu * 1000:6.0f}m  rss {sum(rss_mib(pids[n]) for n in names):7.1f} MiB")
    cluster.down()


if __name__ == "__main__":
    main()
