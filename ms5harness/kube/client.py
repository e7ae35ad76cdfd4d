"""Connect to a cluster from a kubeconfig, with one-line errors for the usual mistakes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import urllib3
import yaml
from kubernetes import client, config
from kubernetes.client import ApiClient

from ms5harness.errors import HarnessError

CONNECT_SECONDS = 5.0  # GET /version: a live API server answers in milliseconds, a dead one should fail fast


@dataclass
class Kube:
    """Typed API groups over one ApiClient, plus the kubeconfig it came from."""

    api: ApiClient
    kubeconfig: Path

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api)

    @property
    def batch(self) -> client.BatchV1Api:
        return client.BatchV1Api(self.api)

    @property
    def autoscaling(self) -> client.AutoscalingV2Api:
        return client.AutoscalingV2Api(self.api)

    @property
    def discovery(self) -> client.DiscoveryV1Api:
        return client.DiscoveryV1Api(self.api)

    @property
    def networking(self) -> client.NetworkingV1Api:
        return client.NetworkingV1Api(self.api)

    @property
    def rbac(self) -> client.RbacAuthorizationV1Api:
        return client.RbacAuthorizationV1Api(self.api)

    @property
    def authz(self) -> client.AuthorizationV1Api:
        return client.AuthorizationV1Api(self.api)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)


def validate_kubeconfig(path: Path) -> None:
    if not path.exists():
        raise HarnessError(f"kubeconfig {path} does not exist", "pass --kubeconfig PATH, or omit it to use the embedded cluster")
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise HarnessError(f"kubeconfig {path} is not valid YAML ({str(err).splitlines()[0]})",
                           "point --kubeconfig at a file written by `az aks get-credentials` or `cluster up`") from None
    if not isinstance(doc, dict) or not doc.get("clusters") or not doc.get("current-context"):
        raise HarnessError(f"kubeconfig {path} has no clusters or no current-context",
                           "run `kubectl config use-context NAME` on it, or pass another file")


def connect(kubeconfig: Path, timeout: float = CONNECT_SECONDS) -> Kube:
    """Load the kubeconfig and prove the API server answers (GET /version) before returning."""
    validate_kubeconfig(kubeconfig)
    try:
        api = config.new_client_from_config(config_file=str(kubeconfig))
    except Exception as err:  # the client raises several unrelated types for bad files
        raise HarnessError(f"cannot load kubeconfig {kubeconfig}: {str(err).splitlines()[0]}",
                           "check its certificate and server fields") from None
    api.configuration.retries = False
    try:
        client.VersionApi(api).get_code(_request_timeout=timeout)
    except (urllib3.exceptions.HTTPError, OSError) as err:
        server = api.configuration.host
        raise HarnessError(f"the cluster at {server} is unreachable ({type(err).__name__})",
                           "start it (`ms5harness cluster up`) or fix the server address in the kubeconfig") from None
    except client.ApiException as err:
        raise HarnessError(f"the cluster at {api.configuration.host} refused us: {err.status} {err.reason}",
                           "check the kubeconfig's credentials") from None
    return Kube(api, kubeconfig)
