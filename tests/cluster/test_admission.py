"""Admission as on AKS: Pod Security, RBAC + Node authorization, NodeRestriction."""

import pytest
from kubernetes import client

from ms5harness.kube import objects

pytestmark = pytest.mark.cluster


def test_restricted_namespace_rejects_a_privileged_pod(kube, scratch):
    with pytest.raises(client.ApiException) as err:
        kube.core.create_namespaced_pod(scratch.name, objects.pod("bad", scratch.image, privileged=True))
    assert err.value.status == 403
    assert "violates PodSecurity" in err.value.body and "restricted" in err.value.body


def test_restricted_namespace_admits_a_compliant_pod(kube, scratch):
    created = kube.core.create_namespaced_pod(scratch.name, objects.pod("good", scratch.image, command=["sleep", "5"]))
    assert created.metadata.uid


def test_rbac_denies_an_unbound_service_account(kube, scratch):
    review = client.V1SubjectAccessReview(spec=client.V1SubjectAccessReviewSpec(
        user=f"system:serviceaccount:{scratch.name}:default",
        resource_attributes=client.V1ResourceAttributes(verb="list", resource="secrets", namespace=scratch.name)))
    assert kube.authz.create_subject_access_review(review).status.allowed is False


def test_node_authorizer_limits_the_kubelet_to_its_own_node(kube):
    node = kube.core.list_node().items[0].metadata.name

    def kubelet_may(verb, resource, name=None, subresource=None):
        spec = client.V1SubjectAccessReviewSpec(
            user=f"system:node:{node}", groups=["system:nodes"],
            resource_attributes=client.V1ResourceAttributes(verb=verb, resource=resource, name=name,
                                                            subresource=subresource))
        return kube.authz.create_subject_access_review(client.V1SubjectAccessReview(spec=spec)).status.allowed

    assert kubelet_may("get", "nodes", name=node)
    assert not kubelet_may("list", "secrets"), "a node may not list every secret"


def test_node_restriction_stops_a_kubelet_labelling_itself(target):
    """NodeRestriction admission: a kubelet may not set node-restriction.kubernetes.io/ labels."""
    if target.embedded is None:
        pytest.skip("needs the node's own kubelet credentials, which only the embedded cluster exposes")
    from kubernetes import config

    spec = target.embedded.spec
    as_kubelet = client.CoreV1Api(config.new_client_from_config(str(spec.config_dir / "kubelet.kubeconfig")))
    patch = {"metadata": {"labels": {"node-restriction.kubernetes.io/harness-test": "x"}}}
    with pytest.raises(client.ApiException) as err:
        as_kubelet.patch_node(spec.node_name, patch)
    assert err.value.status == 403 and "node-restriction" in err.value.body
