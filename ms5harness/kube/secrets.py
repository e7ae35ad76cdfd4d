"""Credentials the release generated, read from its Secrets (never stored in the repo)."""

from __future__ import annotations

import base64

from kubernetes import client

from ms5harness.errors import NothingFound
from ms5harness.kube.client import Kube


def holding(kube: Kube, namespace: str, key: str) -> client.V1Secret:
    """The namespace's Opaque Secret that holds `key` (pods take the value from it by name)."""
    for secret in kube.core.list_namespaced_secret(namespace).items:
        if secret.type == "Opaque" and secret.data and key in secret.data:
            return secret
    raise NothingFound(f"no Secret in {namespace} holds key {key!r}")


def secret_value(kube: Kube, namespace: str, key: str) -> str:
    """The value of `key` in the namespace's Opaque Secret that holds it."""
    return base64.b64decode(holding(kube, namespace, key).data[key]).decode()
