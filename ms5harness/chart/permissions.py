"""Which rights the deploying identity needs for the chart's objects, and which it lacks
(`kubectl auth can-i`), checked before a deploy starts so a refusal is one line, not a half-install."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ms5harness import tools
from ms5harness.errors import HarnessError

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "StorageClass"}


def _resource(obj: dict) -> str:
    """kubectl auth can-i resource name for an object, e.g. deployments.apps."""
    kind = obj["kind"]
    plural = {
        "NetworkPolicy": "networkpolicies",
        "PodDisruptionBudget": "poddisruptionbudgets",
        "StorageClass": "storageclasses",
        "SecretProviderClass": "secretproviderclasses",
    }.get(kind, kind.lower() + "s")
    group = obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else ""
    return f"{plural}.{group}" if group else plural


def required_permissions(objects: Iterable[dict]) -> list[tuple[str, str, str]]:
    """(verb, resource, namespace or '') the deployer needs to install or upgrade these objects."""
    needed: set[tuple[str, str, str]] = set()
    for obj in objects:
        ns = "" if obj["kind"] in CLUSTER_SCOPED else obj["metadata"].get("namespace", "")
        for verb in ("create", "patch", "delete"):
            needed.add((verb, _resource(obj), ns))
    # Helm keeps its release records in Secrets of the release namespace; the chart's lookup reads them.
    return sorted(needed)


def missing_permissions(
    objects: Iterable[dict], kubeconfig: Path, release_namespace: str = "default"
) -> list[str]:
    """Which rights the kubeconfig's identity lacks, as 'verb resource [-n ns]' strings."""
    needed = required_permissions(objects)
    needed += [(v, "secrets", release_namespace) for v in ("list", "create", "patch", "delete")]

    def allowed(item: tuple[str, str, str]) -> bool:
        verb, resource, ns = item
        answer = tools.run("kubectl", kubeconfig, "auth", "can-i", verb, resource, *(["-n", ns] if ns else []),
                           check=False, seconds=tools.KUBECTL_SECONDS)  # "no" exits 1
        return answer.stdout.strip() == "yes"

    items = sorted(set(needed))
    with ThreadPoolExecutor(max_workers=4) as pool:
        verdicts = list(pool.map(allowed, items))
    return [f"{v} {r}" + (f" -n {ns}" if ns else "") for (v, r, ns), ok in zip(items, verdicts) if not ok]


def check_permissions(objects: list[dict], kubeconfig: Path, release_namespace: str = "default") -> None:
    """Raise one line naming every missing right before a deploy starts."""
    missing = missing_permissions(objects, kubeconfig, release_namespace)
    if missing:
        shown = ", ".join(missing[:12]) + (f" and {len(missing) - 12} more" if len(missing) > 12 else "")
        raise HarnessError(
            f"the deploying identity lacks {len(missing)} permission(s): {shown}",
            "deploy with a cluster-admin kubeconfig or bind a role granting them",
        )
