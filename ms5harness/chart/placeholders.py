"""Placeholder values the AKS profile carries so that its numbered files render (manifests/k8s), and which
must never reach a cluster: all-zero Key Vault ids and image digests, the chart's default image tag, the
documentation address ranges of RFC 5737 (TEST-NET-2/3) and example.* host names.

`manifests render` writes them as they are; `manifests check` and `deploy` refuse each with one line
naming the values key and its fix.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from collections.abc import Iterator

from ms5harness.objectives import chart_values

ZERO_UUID = "00000000-0000-0000-0000-000000000000"
ZERO_DIGEST = "sha256:" + "0" * 64
DEFAULT_TAG = "0.1.0"  # values.yaml's tag of every project image; the deployer passes the content tag
DOCUMENTATION_NETWORKS = (ipaddress.ip_network("198.51.100.0/24"), ipaddress.ip_network("203.0.113.0/24"))
EXAMPLE_HOST = re.compile(r"(^|[/.@])example\.(com|org|net)\b|\.invalid(\b|$)")  # RFC 2606 names

FIXES = {
    "secrets.keyVault.tenantId": '--set secrets.keyVault.tenantId="$(az account show --query tenantId -o tsv)"',
    "secrets.keyVault.clientId": "--set secrets.keyVault.clientId=<client id of the identity federated with the "
                                 "namespace's ServiceAccounts> (az identity show --query clientId)",
    "nginx.service.loadBalancerSourceRanges": "--set 'nginx.service.loadBalancerSourceRanges=[\"<client cidr>\"]' "
                                              "(the networks allowed to reach the entry point)",
    "networkPolicy.apiServer.cidrs": "--set 'networkPolicy.apiServer.cidrs=[\"<api server ip>/32\"]' "
                                     "(az aks show --query fqdn, resolved; or the Private Link endpoint)",
    "networkPolicy.alertmanagerEgress.cidrs": "--set 'networkPolicy.alertmanagerEgress.cidrs=[...]' "
                                              "(the receivers' or the egress firewall's addresses)",
    "config.allowedOrigins": "--set config.allowedOrigins=https://<the dashboard's host>",
    "postgres.backup.store.endpoint": "--set postgres.backup.store.endpoint=https://<the off-cluster S3 endpoint>",
    "postgres.backup.store.cidrs": "--set 'postgres.backup.store.cidrs=[\"<its private endpoint subnet>\"]'",
}


def _leaves(values, path: str = "") -> Iterator[tuple[str, object]]:
    if isinstance(values, dict):
        for key, value in values.items():
            yield from _leaves(value, f"{path}.{key}" if path else key)
    else:
        yield path, values


def _set(values: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        values = values.setdefault(key, {})
    values[last] = value


def _in_documentation_range(text: str) -> bool:
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return any(network.subnet_of(doc) for doc in DOCUMENTATION_NETWORKS if doc.version == network.version)


def _why(path: str, value) -> str | None:
    """What makes one value a placeholder, or None."""
    items = value if isinstance(value, list) else [value]
    if value == ZERO_UUID:
        return "the all-zero id"
    if value == ZERO_DIGEST:
        return "the all-zero digest"
    if re.fullmatch(r"images\.[^.]+\.tag", path) and str(value) == DEFAULT_TAG:
        return f"the chart's default tag {DEFAULT_TAG}, not a pushed image"
    if any(isinstance(i, str) and _in_documentation_range(i) for i in items):
        return "a documentation address (RFC 5737)"
    if any(isinstance(i, str) and EXAMPLE_HOST.search(i) for i in items):
        return "an example host name"
    return None


def _fix(path: str) -> str:
    if path in FIXES:
        return FIXES[path]
    if path.endswith(".digest"):
        return f"--set {path}=sha256:<digest> (crane digest <image>:<tag>)"
    if path.endswith(".tag"):
        return "deploy with `ms5harness deploy`, which passes the content tag, or set the tag of the pushed image"
    return f"set {path} in the values file or with --set"


def placeholders(profile: str, set_values: dict | None = None) -> list[str]:
    """One line per values key that still holds a placeholder: the key, why, and the fix."""
    values = copy.deepcopy(chart_values(profile))
    for dotted, value in (set_values or {}).items():
        _set(values, dotted, value)
    found = []
    for path, value in _leaves(values):
        why = _why(path, value)
        if why:
            found.append(f"{path} holds a placeholder ({why}): {_fix(path)}")
    return found
