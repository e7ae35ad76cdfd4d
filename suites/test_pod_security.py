"""Pod security: every running container is non-root, read-only, without privilege escalation,
and the namespace rejects a privileged pod."""

import pytest
from kubernetes import client

from ms5harness.cluster.node_images import CHART_IMAGES
from ms5harness.kube import objects
from ms5harness.kube.waits import exec_in_pod

SINGLE_BINARY_IMAGES = {image.key for image in CHART_IMAGES}  # FROM scratch: no shell, no `id`


def running_pods(stack):
    pods = [p for p in stack.kube.core.list_namespaced_pod(stack.namespace).items if p.status.phase == "Running"]
    assert pods, "no running pods to check"
    return pods


def test_every_container_is_locked_down(stack):
    for pod in running_pods(stack):
        pod_ctx = pod.spec.security_context or client.V1PodSecurityContext()
        for c in pod.spec.containers + (pod.spec.init_containers or []):
            ctx = c.security_context or client.V1SecurityContext()
            name = f"{pod.metadata.name}/{c.name}"
            assert (ctx.run_as_non_root or pod_ctx.run_as_non_root), f"{name} may run as root"
            assert ctx.read_only_root_filesystem, f"{name} has a writable root filesystem"
            assert ctx.allow_privilege_escalation is False, f"{name} allows privilege escalation"
            assert ctx.capabilities and ctx.capabilities.drop == ["ALL"], f"{name} keeps capabilities"
            seccomp = (ctx.seccomp_profile or pod_ctx.seccomp_profile)
            assert seccomp and seccomp.type == "RuntimeDefault", f"{name} has no RuntimeDefault seccomp"


def test_running_processes_are_not_root(stack):
    """`id -u` in each pod's first container; an image of one static binary has no `id`, so there the
    user the kubelet started it as (runAsNonRoot is enforced at start) is read from its spec."""
    for pod in running_pods(stack):
        c = pod.spec.containers[0]
        if c.image.split("/")[-1].split(":")[0] in SINGLE_BINARY_IMAGES:
            user = (c.security_context and c.security_context.run_as_user) or pod.spec.security_context.run_as_user
            non_root = (c.security_context and c.security_context.run_as_non_root) or pod.spec.security_context.run_as_non_root
            assert non_root and user not in (None, 0), f"{pod.metadata.name}/{c.name} may run as root"
            continue
        result = exec_in_pod(stack.kube, stack.namespace, pod.metadata.name, ["id", "-u"], container=c.name)
        assert result.exit_code == 0, f"{pod.metadata.name}: {result.stderr}"
        assert int(result.stdout.strip()) != 0, f"{pod.metadata.name}/{c.name} runs as root"


def test_namespace_enforces_restricted(stack):
    labels = stack.kube.core.read_namespace(stack.namespace).metadata.labels
    assert labels.get("pod-security.kubernetes.io/enforce") == "restricted"


def test_namespace_rejects_a_privileged_pod(stack):
    privileged = objects.pod("harness-privileged", "localhost/ms5/toolbox:probe", privileged=True)
    with pytest.raises(client.ApiException) as err:
        stack.kube.core.create_namespaced_pod(stack.namespace, privileged, dry_run="All")
    assert err.value.status == 403 and "violates PodSecurity" in err.value.body
