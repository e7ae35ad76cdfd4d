"""Credentials the release generated, read from its Secrets (never stored in the repo)."""

from __future__ import annotations

import base64

from ms5harness.errors import NothingFound
from ms5harness.kube.client import Kube


def secret_value(kube: Kube, namespace: str, key: str) -> str:
    """The value of `key` in the namespace's Opaque Secret that holds it."""
    for secret in kube.core.list_namespaced_secret(namespace).items:
        if secret.type == "Opaque" and secret.data and key in secret.data:
            return base64.b64decode(secret.data[key]).decode()
    raise NothingFound(f"no Secret in {namespace} holds key {key!r}")
