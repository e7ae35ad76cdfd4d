"""The `ms5harness` command line: cluster, images, deploy, manifests, chaos, nightly.

Every failure the user can act on is a HarnessError, printed as one line
(`error: <cause> (fix: <fix>)`) with exit status 1; nothing prints a traceback.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import traceback
from pathlib import Path

from ms5harness import paths
from ms5harness.errors import HarnessError
from ms5harness.names import DEFAULT_NAMESPACE


def _table(rows: list[dict]) -> str:
    if not rows:
        return ""
    cols = list(rows[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in cols)]
    lines += ["  ".join(str(r[c]).ljust(widths[c]) for c in cols) for r in rows]
    return "\n".join(lines)


def cmd_cluster(args: argparse.Namespace) -> int:
    from ms5harness.cluster import build
    from ms5harness.cluster.embedded import EmbeddedCluster

    if args.action == "build":
        build.build_all(force=args.force)
        return 0
    cluster = EmbeddedCluster(nodes=getattr(args, "nodes", None))
    if args.action == "up":
        cluster.up()
    elif args.action == "down":
        cluster.down()
    elif args.action == "status":
        rows = cluster.status()
        print(_table(rows))
        return 0 if all(r["state"] in ("healthy", "available") for r in rows) else 3
    elif args.action == "logs":
        path = cluster.log_file(args.component, args.node)
        if args.follow:
            return subprocess.call(["tail", "-n", str(args.tail), "-F", str(path)])
        lines = path.read_text(errors="replace").splitlines()
        print("\n".join(lines[-args.tail:] if args.tail else lines))
    return 0


def cmd_images(args: argparse.Namespace) -> int:
    from ms5harness.cluster.node_images import CHART_IMAGES, CLUSTER_IMAGES
    from ms5harness.cluster.embedded import EmbeddedCluster
    from ms5harness.images import builder
    from ms5harness.images.catalog import project_images

    images = [*CLUSTER_IMAGES, *project_images(), *CHART_IMAGES]
    if args.only:
        images = [i for i in images if i.key in args.only]
        unknown = set(args.only) - {i.key for i in images}
        if unknown:
            raise HarnessError(f"unknown image {sorted(unknown)[0]!r}", "see `ms5harness images list`")
    if args.action == "list":
        print(_table([{"image": i.key, "ref": i.ref, "built": builder.archive_path(i.ref).exists()} for i in images]))
        return 0
    t0 = time.monotonic()
    archives = {i.ref: builder.build(i) for i in images}
    print(f"{len(archives)} images ready in {time.monotonic() - t0:.0f}s")
    if args.action == "load":
        cluster = EmbeddedCluster()
        for ref, archive in archives.items():
            cluster.load_image(ref, archive)
        print(f"{len(archives)} images in every node's containerd ({', '.join(cluster.node_names)})")
    return 0


def _parse_sets(pairs: list[str]) -> dict:
    values = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise HarnessError(f"--set {pair!r} is not KEY=VALUE", "e.g. --set backend.replicas=3")
        try:
            values[key] = json.loads(raw)
        except json.JSONDecodeError:
            values[key] = raw
    return values


def cmd_deploy(args: argparse.Namespace) -> int:
    from ms5harness import deploy
    from ms5harness import target as target_mod

    target = target_mod.resolve(args.kubeconfig)
    if args.command == "undeploy":
        deploy.undeploy(target, args.namespace)
        return 0
    result = deploy.deploy(target, args.profile, args.namespace, _parse_sets(args.set),
                           timeout=args.timeout or deploy.ROLLOUT_SECONDS)
    print(_table(result.table()))
    print(f"{'deployed' if result.changed else 'unchanged'}: {len(result.workloads)} workloads ready "
          f"in {result.seconds:.0f}s")
    return 0


def cmd_manifests(args: argparse.Namespace) -> int:
    from ms5harness import chart

    if args.action == "render":
        for path in chart.write_numbered(args.profile):
            print(path.relative_to(chart.K8S_DIR.parent.parent))
        return 0
    if args.action == "schema":
        print(chart.write_schema().relative_to(paths.REPO_ROOT))
        return 0
    drift = chart.numbered_drift(args.profile)
    print("\n".join(drift) if drift else "manifests/k8s matches the chart")
    # the numbered files hold the values files and the render's stand-ins (chart.example_values)
    refused = chart.placeholders(args.profile, chart.example_values(args.profile))
    for line in refused:
        print(f"refused: {line}", file=sys.stderr)
    return 1 if drift or refused else 0


def cmd_chaos(args: argparse.Namespace) -> int:
    from ms5harness.chaos import ledger, session

    # The cluster as it is, never brought up: what is left to undo may be a hung node `up` would wait on.
    kube = session.kube({"kubeconfig": args.kubeconfig} if args.kubeconfig else None)
    if args.action == "pending":
        entries = ledger.pending(kube, args.namespace)
        print("\n".join(e["what"] for _, e in entries) if entries else "no fault left to roll back")
        return 0
    undone = ledger.undo_everything(kube, args.namespace)
    print("\n".join(f"rolled back: {what}" for what in undone) if undone else "nothing to roll back")
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    from ms5harness import load, paths
    from ms5harness import target as target_mod
    from ms5harness.load import distributed
    from ms5harness.load import steps as steps_mod
    from ms5harness.verify.stack import Stack

    steps = steps_mod.parse_steps(args.steps) if args.steps else None
    if args.workers is not None:
        distributed.check_counts(args.workers, args.users)
        if steps:
            raise HarnessError("--steps is for Locust on this machine", "leave out --workers, or --steps")
    elif args.image or args.node_pool:
        raise HarnessError(f"{'--image' if args.image else '--node-pool'} is for the load pods of a distributed run",
                           "add --workers N, or leave it out")
    stack = Stack(target_mod.resolve(args.kubeconfig), args.namespace, args.profile, args.entry_url)
    out = Path(args.out) if args.out else paths.reports_dir() / time.strftime("load-%Y%m%dT%H%M%SZ", time.gmtime())
    try:
        if steps:
            result = steps_mod.run(stack, out, steps, args.step_seconds or steps_mod.DEFAULT_STEP_SECONDS)
        elif args.workers is None:
            result = load.run(stack, out, args.users, args.spawn_rate, args.duration)
        else:
            result = distributed.run(stack, out, args.workers, args.users, args.spawn_rate, args.duration,
                                     args.image, args.node_pool or distributed.DEFAULT_NODE_POOL)
    finally:
        stack.close()
    print("\n".join(result.lines()))
    if steps:
        print(f"{'scale-out within its objective' if result.passed else 'NOT MET'}; details: {out / 'steps.json'}")
    else:
        print(f"{'SLOs met' if result.passed else 'SLOs BREACHED'}; details: {out / 'slo.json'}")
    return 0 if result.passed else 1


def cmd_nightly(args: argparse.Namespace) -> int:
    from ms5harness import pipeline

    steps = pipeline.STEPS if args.command == "nightly" else pipeline.PLAN_ONLY
    return pipeline.nightly(args.kubeconfig, args.profile, args.namespace, getattr(args, "keep_cluster", False),
                            args.plan, args.only, args.repeat, steps=steps, kind=args.command,
                            suites=getattr(args, "suites", None), entry_url=args.entry_url)


def add_plan_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--plan", metavar="FILE", help="the resilience plan (default: experiments/nightly.yaml)")
    p.add_argument("--only", nargs="+", metavar="NAME", help="only these entries of the plan")
    p.add_argument("--repeat", type=int, default=1, metavar="N", help="play every entry N times (pass rate, spread)")


def add_target_args(p: argparse.ArgumentParser, profile: bool = True) -> None:
    """Which cluster, namespace (and chart profile) a command works on."""
    p.add_argument("--kubeconfig", help="target cluster (default: $MS5H_KUBECONFIG, else the embedded cluster)")
    p.add_argument("--namespace", default=DEFAULT_NAMESPACE)
    if profile:
        p.add_argument("--profile", default="local", choices=("local", "aks"))


def add_entry_arg(p: argparse.ArgumentParser) -> None:
    """How a command that drives the stack reaches its entry point."""
    p.add_argument("--entry-url", metavar="URL",
                   help="the entry point's public URL, where nginx terminates TLS (aks: https://<host>; default: "
                        "its NodePort on the embedded cluster, else its load balancer or a port-forward)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ms5harness", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    cluster = sub.add_parser("cluster", help="the embedded Kubernetes cluster (one to four real nodes on this machine)")
    csub = cluster.add_subparsers(dest="action", required=True)
    cb = csub.add_parser("build", help="build the pinned Go binaries (the cluster's, helm, kube-score) into the cache")
    cb.add_argument("--force", action="store_true", help="rebuild even when cached")
    up = csub.add_parser("up", help="start the cluster (a no-op when it runs) and print the kubeconfig path")
    up.add_argument("--nodes", type=int, help="nodes in all, 1-4: the control-plane node plus workers, each in its own "
                                              "network namespace (default: what the last `up` made, else 1)")
    csub.add_parser("down", help="stop the cluster and remove everything it created")
    csub.add_parser("status", help="state of each component (exit 3 when any is not healthy)")
    logs = csub.add_parser("logs", help="show a component's log")
    logs.add_argument("component")
    logs.add_argument("--tail", type=int, default=200, help="last N lines (0: all)")
    logs.add_argument("-f", "--follow", action="store_true")
    logs.add_argument("--node", default="", help="a worker node's component (default: the control-plane node)")
    cluster.set_defaults(func=cmd_cluster)

    images = sub.add_parser("images", help="build images offline and load them into the cluster")
    images.add_argument("action", choices=("list", "build", "load"))
    images.add_argument("--only", nargs="+", metavar="KEY", help="only these images")
    images.set_defaults(func=cmd_images)

    for name, text in (("deploy", "install or upgrade the MS5 chart and wait for every rollout"),
                       ("undeploy", "uninstall the MS5 chart and delete its namespace and volumes")):
        p = sub.add_parser(name, help=text)
        add_target_args(p, profile=name == "deploy")
        if name == "deploy":
            p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a chart value (JSON or text)")
            p.add_argument("--timeout", type=float,
                           help="seconds for every workload to become ready (default: deploy.ROLLOUT_SECONDS)")
        p.set_defaults(func=cmd_deploy)

    chaos = sub.add_parser("chaos", help="faults injected by experiments and tests: list or roll back leftovers")
    chaos.add_argument("action", choices=("pending", "rollback"))
    add_target_args(chaos, profile=False)
    chaos.set_defaults(func=cmd_chaos)

    load = sub.add_parser("load", help="bounded Locust load on the entry point, judged against the SLOs by Prometheus")
    add_target_args(load)
    add_entry_arg(load)
    load.add_argument("--users", type=int, default=10)
    load.add_argument("--spawn-rate", type=float, default=5)
    load.add_argument("--duration", type=int, default=60, help="seconds of load (Locust stops the users)")
    load.add_argument("--workers", type=int, metavar="N",
                      help="run Locust distributed: a master and N workers as pods in the target cluster "
                           "(default: Locust on this machine)")
    load.add_argument("--image", metavar="REF",
                      help="the load pods' image (default: images/locust by its content tag, built and imported "
                           "on the embedded cluster, else from the profile's registry: docs/aks.md)")
    load.add_argument("--node-pool", metavar="POOL",
                      help="the chart's node pool the load pods run on (its nodePools; default: spot)")
    load.add_argument("--steps", metavar="USERS,USERS,...",
                      help="stepped load (e.g. 10,40,80): every step judged, the capacity, and the backend HPA's "
                           "scale-out timed by phase against slo.autoscalingResponseSeconds")
    load.add_argument("--step-seconds", type=float,
                      help="seconds each step holds (with --steps; default: load.steps.DEFAULT_STEP_SECONDS)")
    load.add_argument("--out", metavar="DIR", help="where the verdict and Locust's files go (default: reports/load-<time>)")
    load.set_defaults(func=cmd_load)

    res = sub.add_parser("resilience", help="the resilience plan against the deployed stack: scores and report")
    add_target_args(res)
    add_entry_arg(res)
    add_plan_args(res)
    res.set_defaults(func=cmd_nightly)

    nightly = sub.add_parser("nightly", help="the nightly pipeline: cluster, deploy, suites, resilience plan, "
                                             "teardown, report")
    add_target_args(nightly)
    add_entry_arg(nightly)
    add_plan_args(nightly)
    nightly.add_argument("--keep-cluster", action="store_true", help="leave the embedded cluster running")
    nightly.add_argument("--suites", nargs="+", metavar="PATH", help="the suites step runs only these files of "
                                                                       "suites/ (default: every suite)")
    nightly.set_defaults(func=cmd_nightly)

    manifests = sub.add_parser("manifests", help="the plan's numbered manifest files, rendered from the chart "
                                                 "(check: drift, and refuses the placeholders they carry); "
                                                 "the chart's values.schema.json (schema)")
    manifests.add_argument("action", choices=("render", "check", "schema"))
    manifests.add_argument("--profile", default="aks", choices=("local", "aks"))
    manifests.set_defaults(func=cmd_manifests)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except HarnessError as err:
        print(f"error: {err.one_line()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 (a bug, not bad input: one line here, the traceback in a file)
        trace = paths.reports_dir() / "last-traceback.txt"
        trace.parent.mkdir(parents=True, exist_ok=True)
        trace.write_text(traceback.format_exc())
        print(f"error: {type(err).__name__}: {err} (fix: this is a harness bug; traceback in {trace})", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
