"""Access control: each ServiceAccount may do what its workload needs and nothing more;
secrets are readable only by those that need them."""

import pytest
from kubernetes import client

# ServiceAccount (without the release prefix) -> (verb, resource, object name or None) it must be allowed.
# Patroni keeps its leader lock and config in its own ConfigMaps and labels its own pods by role (its
# Role names them: resourceNames); the Redis sidecar labels the master pod; Prometheus discovers targets.
# A name of "pod" is the component's first pod.
NEEDS = {
    "postgres": [("get", "configmaps", "ms5-postgres-leader"), ("patch", "configmaps", "ms5-postgres-leader"),
                 ("get", "configmaps", "ms5-postgres-config"), ("create", "configmaps", None),
                 ("list", "pods", None), ("patch", "pods", "pod")],
    "redis": [("get", "pods", "pod"), ("patch", "pods", "pod")],  # only its own pods, by name
    "prometheus": [("list", "services", None), ("list", "endpointslices", None), ("list", "nodes", None)],
}
# ... and, named, nothing beside its own objects: what the narrowing must refuse.
NOT_OTHERS = {"postgres": [("patch", "configmaps", "ms5-config"), ("get", "configmaps", "ms5-nginx")]}
SAMPLE_FORBIDDEN = [("list", "secrets"), ("create", "pods"), ("delete", "deployments"), ("create", "rolebindings"),
                    ("get", "nodes")]


def may(stack, sa: str, verb: str, resource: str, name: str | None = None) -> bool:
    groups = {"deployments": "apps", "rolebindings": "rbac.authorization.k8s.io", "endpointslices": "discovery.k8s.io"}
    cluster_scoped = resource in ("nodes",)
    attrs = client.V1ResourceAttributes(verb=verb, resource=resource, name=name,
                                        namespace=None if cluster_scoped else stack.namespace,
                                        group=groups.get(resource, ""))
    review = client.V1SubjectAccessReview(spec=client.V1SubjectAccessReviewSpec(
        user=f"system:serviceaccount:{stack.namespace}:{sa}", resource_attributes=attrs))
    return stack.kube.authz.create_subject_access_review(review).status.allowed


def service_accounts(stack) -> list[str]:
    found = [sa.metadata.name for sa in stack.kube.core.list_namespaced_service_account(
        stack.namespace, label_selector="app.kubernetes.io/instance=ms5").items]
    assert len(found) >= 10, f"expected one ServiceAccount per workload, found {found}"
    return found


def test_one_service_account_per_workload(stack):
    accounts = set(service_accounts(stack))
    for pod in stack.kube.core.list_namespaced_pod(stack.namespace, label_selector="app.kubernetes.io/instance=ms5").items:
        assert pod.spec.service_account_name in accounts, f"{pod.metadata.name} runs as {pod.spec.service_account_name}"


@pytest.mark.parametrize("component", sorted(NEEDS))
def test_service_account_may_do_what_it_needs(stack, component):
    sa = f"ms5-{component}"
    for verb, resource, name in NEEDS[component]:
        name = stack.pods(component)[0].metadata.name if name == "pod" else name
        assert may(stack, sa, verb, resource, name), f"{sa} may not {verb} {resource} {name or ''}"


@pytest.mark.parametrize("component", sorted(NOT_OTHERS))
def test_a_named_grant_covers_only_its_own_objects(stack, component):
    sa = f"ms5-{component}"
    for verb, resource, name in NOT_OTHERS[component]:
        assert not may(stack, sa, verb, resource, name), f"{sa} may {verb} {resource} {name}"


def test_no_service_account_may_do_the_forbidden_sample(stack):
    for sa in service_accounts(stack):
        for verb, resource in SAMPLE_FORBIDDEN:
            if resource in {r for _, r, _ in NEEDS.get(sa.removeprefix("ms5-"), [])}:
                continue  # covered by the needs test, with its exact verbs
            assert not may(stack, sa, verb, resource), f"{sa} may {verb} {resource}"


def test_secrets_are_readable_by_no_workload(stack):
    """Workloads get credentials as environment from the kubelet; none needs to read Secrets via the API."""
    for sa in service_accounts(stack):
        assert not may(stack, sa, "get", "secrets"), f"{sa} may read secrets"


def test_token_automount_is_off_where_unused(stack):
    needs_api = {f"ms5-{c}" for c in NEEDS}
    for pod in stack.kube.core.list_namespaced_pod(stack.namespace, label_selector="app.kubernetes.io/instance=ms5").items:
        mounted = any(v.projected and any(s.service_account_token for s in v.projected.sources or [])
                      for v in pod.spec.volumes or [])
        if pod.spec.service_account_name not in needs_api:
            assert not mounted, f"{pod.metadata.name} mounts an API token it does not use"
