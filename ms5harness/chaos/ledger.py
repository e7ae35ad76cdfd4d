"""Write-ahead undo records kept in the cluster, so a fault is always rolled back.

An action records how to undo its change in the ConfigMap `ms5h-chaos-ledger` before it
makes the change. `rollback` replays the records newest first and deletes each one it
has undone; a record whose undo fails stays, and the next rollback tries again. Because
the ledger lives in the namespace, a run killed with SIGKILL on one machine is rolled
back by the next experiment, test or `ms5harness chaos rollback` from any machine.
"""

from __future__ import annotations

import importlib
import json
import time

from kubernetes import client

from ms5harness import names
from ms5harness.chaos import session
from ms5harness.errors import HarnessError
from ms5harness.kube.client import Kube

LEDGER = "ms5h-chaos-ledger"
UNDO_PREFIX = "ms5harness.chaos."


def record(kube: Kube, namespace: str, what: str, undo: str, **args) -> None:
    """Remember `undo(kube, namespace, **args)` (a function of this package) before a change."""
    if not undo.startswith(UNDO_PREFIX):
        raise ValueError(f"undo {undo!r} is not a function of {UNDO_PREFIX}")
    entry = {f"{time.time_ns():020d}": json.dumps({"what": what, "undo": undo, "args": args})}
    try:
        kube.core.patch_namespaced_config_map(LEDGER, namespace, {"data": entry})
    except client.ApiException as err:
        if err.status != 404:
            raise
        kube.core.create_namespaced_config_map(namespace, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name=LEDGER, labels={names.MANAGED_BY: names.HARNESS}),
            data=entry))


def pending(kube: Kube, namespace: str) -> list[tuple[str, dict]]:
    """Undo records not yet replayed, oldest first."""
    try:
        data = kube.core.read_namespaced_config_map(LEDGER, namespace).data or {}
    except client.ApiException as err:
        if err.status == 404:
            return []
        raise
    return [(key, json.loads(data[key])) for key in sorted(data)]


def undo_everything(kube: Kube, namespace: str) -> list[str]:
    """Replay every pending undo, newest first; raise naming those that failed (they stay recorded)."""
    undone, failed = [], []
    for key, entry in reversed(pending(kube, namespace)):
        module, _, func = entry["undo"].rpartition(".")
        try:
            getattr(importlib.import_module(module), func)(kube, namespace, **entry["args"])
        except Exception as err:  # keep going: one stuck undo must not strand the others
            failed.append(f"{entry['what']}: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
            continue
        kube.core.patch_namespaced_config_map(LEDGER, namespace, {"data": {key: None}})
        undone.append(entry["what"])
    if failed:
        raise HarnessError(f"rollback incomplete, still recorded in configmap/{LEDGER}: {'; '.join(failed)}",
                           "fix the cause and run `ms5harness chaos rollback` again")
    return undone


def rollback(configuration: dict | None = None, secrets: dict | None = None) -> list[str]:
    """Chaos Toolkit rollback: undo every fault recorded in the namespace."""
    return undo_everything(session.kube(configuration), session.namespace(configuration))
