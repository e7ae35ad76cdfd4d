"""Names the chart gives the stack, and how the harness finds its parts: defined once.

The chart (manifests/helm/ms5-dashboard) names every object `<release>-<component>` and labels it
with its component and release instance; deploy, the suites and the chaos activities find pods,
Services and ServiceAccounts by these. The login is the backend's admin user, whose password the
release generates into its Secret (key ADMIN_PASSWORD). The harness's own load pods (`ms5harness load
--workers N`) are not the release's: they carry the LOAD label, never the release's, and are found by it.
"""

from __future__ import annotations

RELEASE = "ms5"
DEFAULT_NAMESPACE = "ms5"  # also the `namespace` default of every experiments/*.json (a unit test holds them equal)
COMPONENT = "app.kubernetes.io/component"
INSTANCE = "app.kubernetes.io/instance"
MANAGED_BY = "app.kubernetes.io/managed-by"
HARNESS = "ms5harness"  # MANAGED_BY of what the harness itself creates in a namespace (ledger, chaos pods)
# The label each replicated store's current primary carries (Patroni's; the Redis labeler's): the pod a
# failover experiment kills, and the one a rebalance never moves.
PRIMARY = {"postgres": "role=master", "redis": "ms5.io/redis-role=master"}
POOL_LABEL = "kubernetes.azure.com/agentpool"  # the AKS node pool of a node (the embedded nodes carry it too)
EVICTION_TAINT = ("ms5.io/evicting", "spot", "NoSchedule")  # key, value, effect: a node under an eviction notice
DNS_POLICY_COMPONENT = "allow-dns"  # the NetworkPolicy (ms5-allow-dns) that lets every pod reach CoreDNS

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD_KEY = "ADMIN_PASSWORD"
LOGIN_PATH = "/api/v1/auth/login"

# The locustfile's request log (loadtests/locustfile.py): a file, or on stdout with a prefix per line
# (a pod's log), "started,seconds,failed,name" each.
REQUEST_LOG_STDOUT = "-"
REQUEST_LINE_PREFIX = "ms5h-request,"

LOAD = "ms5harness/load"  # on every object a distributed load run creates; leftovers are found by it
LOAD_ROLE = "ms5harness/load-role"  # "master" or "worker"
LOAD_MASTER = "ms5h-load-master"  # the Locust master's Pod and the Service its workers reach it by
LOAD_MASTER_PORT = 5557  # Locust's master port (its default)


def release_selector() -> str:
    """Every object of the release."""
    return f"{INSTANCE}={RELEASE}"


def component_selector(component: str) -> str:
    """The pods (or Services) of one component of the release."""
    return f"{COMPONENT}={component},{release_selector()}"


def object_name(component: str) -> str:
    """The chart names every object after its release and component: ms5-<component>."""
    return f"{RELEASE}-{component}"


def login(password: str) -> dict:
    """The body of the admin's login (POST LOGIN_PATH)."""
    return {"username": ADMIN_USERNAME, "password": password}


def load_selector() -> str:
    """Everything a distributed load run created."""
    return f"{LOAD}=true"


def load_object_labels() -> dict[str, str]:
    """The labels of everything a distributed load run creates: the harness's, and the load's."""
    return {MANAGED_BY: HARNESS, LOAD: "true"}


def load_labels(role: str) -> dict[str, str]:
    """The labels of a load pod of one role (master or worker)."""
    return {**load_object_labels(), LOAD_ROLE: role}


def load_object_name(part: str) -> str:
    """Names of the load run's objects: ms5h-load-<part> (ms5h-load-worker-0, ms5h-load-entry, ...)."""
    return f"ms5h-load-{part}"
