"""Lookups as a component's pod makes them: through its own resolver configuration."""

from __future__ import annotations

import json
import time

from ms5harness import names
from ms5harness.chaos import session
from ms5harness.chaos.pods.probes import last_line_of, ready_pods
from ms5harness.kube.waits import WaitTimeout, poll

__all__ = ["lookup_fails_within", "seconds_until_lookups_resolve"]

LOOKUP_EXEC_SECONDS = 30  # one lookup, however long the resolver retries
POLICY_SYNC_SECONDS = 20  # a NetworkPolicy change reaches the node's filters (kube-router: about 5 s)
# Run in the pod: getaddrinfo as the application calls it, timed; prints {"resolved": ..., "seconds": ...}.
LOOKUP = ("import json, socket, sys, time\nt = time.monotonic()\ntry:\n    socket.getaddrinfo(sys.argv[1], 80)\n"
          "    ok = True\nexcept OSError:\n    ok = False\n"
          "print(json.dumps({'resolved': ok, 'seconds': round(time.monotonic() - t, 3)}))")


def lookup(kube, namespace: str, component: str, hostname: str) -> dict:
    pods = ready_pods(kube, namespace, component)
    if not pods:
        raise session.ActivityFailed(f"no ready {component} pod to resolve {hostname} from")
    return json.loads(last_line_of(kube, namespace, pods[0], ["python3", "-c", LOOKUP, hostname], LOOKUP_EXEC_SECONDS))


def lookup_fails_within(seconds: float, component: str = "backend", hostname: str = "",
                        configuration: dict | None = None, secrets: dict | None = None) -> float:
    """A new lookup from the component fails, and within `seconds`: how long it took. Waits up to
    POLICY_SYNC_SECONDS for the denial to reach the node, then times the next lookup: the first
    failing one may have begun while the node's filters were being rewritten (it once took 20 s
    where a lookup under the denial takes 5). Raises (the activity fails) when the name still
    resolves, or the timed failure took longer than `seconds`."""
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    hostname = hostname or names.object_name("postgres")
    try:
        first = poll(f"a lookup of {hostname} from {component} failing", lambda: lookup(kube, namespace, component, hostname),
                     lambda seen: not seen["resolved"], timeout=POLICY_SYNC_SECONDS, interval=1, summary=json.dumps)
    except WaitTimeout as err:
        raise session.ActivityFailed(f"DNS is not denied: {err}") from None
    timed = lookup(kube, namespace, component, hostname)
    if timed["resolved"]:
        raise session.ActivityFailed(f"{hostname} resolved again right after a lookup failed ({first['seconds']}s): "
                                     "the denial is not steady")
    if timed["seconds"] > seconds:
        raise session.ActivityFailed(f"a lookup of {hostname} under the denial took {timed['seconds']}s, more than "
                                     f"{seconds:g}s (the first failing one: {first['seconds']}s)")
    return timed["seconds"]


def seconds_until_lookups_resolve(timeout: float = 60, component: str = "backend", hostname: str = "",
                                  configuration: dict | None = None, secrets: dict | None = None) -> float:
    """Time until a new lookup from the component resolves again; raises after `timeout`."""
    kube, namespace = session.kube(configuration), session.namespace(configuration)
    hostname = hostname or names.object_name("postgres")
    started = time.monotonic()
    try:
        poll(f"{hostname} resolving from {component}", lambda: lookup(kube, namespace, component, hostname),
             lambda seen: seen["resolved"], timeout=timeout, interval=1, summary=json.dumps)
    except WaitTimeout as err:
        raise session.ActivityFailed(str(err)) from None
    return round(time.monotonic() - started, 1)
