"""Isolation: every needed flow connects, every other flow is refused, nothing reaches outside."""

import pytest

from flows import DESTINATIONS, OPTIONAL, SOURCES, allowed
from ms5harness.errors import NothingFound
from ms5harness.kube import objects, waits
from ms5harness.kube.framework import scratch_namespace
from ms5harness.verify.outside import outside_host


@pytest.fixture(scope="module", autouse=True)
def policies_are_enforced(stack, request):
    """Preflight: a cluster that ignores NetworkPolicy would pass every 'refused' check by accident."""
    with scratch_namespace(stack.kube, "policy-preflight", stack.toolbox_image()) as ns:
        server = ns.serve_http("server")
        ns.sleeper("client")
        assert ns.can_connect("client", server.status.pod_ip, 8080), "preflight pods cannot talk at all"
        ns.create(objects.network_policy("deny", {}, ingress=[]))
        try:
            waits.poll("deny policy enforced", lambda: ns.can_connect("client", server.status.pod_ip, 8080),
                       lambda ok: not ok, timeout=45, interval=3)
        except waits.WaitTimeout:
            pytest.exit("error: this cluster does not enforce NetworkPolicy (a deny-all policy let traffic through); "
                        "the isolation suite would be meaningless (fix: install a policy-enforcing CNI)", returncode=3)



def deployed(stack, component: str) -> bool:
    try:
        return bool(stack.pods(component))
    except NothingFound:
        if component in OPTIONAL:
            return False
        raise


@pytest.mark.parametrize("source,destination,port", sorted(
    (s, d, p) for s in SOURCES for d, p in DESTINATIONS.items()))
def test_flow_matrix(stack, source, destination, port):
    expected = allowed(source, destination, port, stack.profile)
    for component in (source, destination):
        if not deployed(stack, component):
            pytest.skip(f"{component} is not deployed in this profile")
    pods = stack.pods(destination)
    if source == destination:
        if len(pods) == 1:
            pytest.skip(f"{source} has one pod: Kubernetes never filters a pod's traffic to itself")
        target_ip = pods[-1].status.pod_ip  # a sibling replica, never the probing pod itself
    else:
        target_ip = pods[0].status.pod_ip
    actual = stack.connects(source, target_ip, port, timeout=2)
    assert actual == expected, f"{source} -> {destination}:{port} {'connected' if actual else 'was refused'}, " \
                               f"the specification says {'allow' if expected else 'deny'}"


def test_no_component_reaches_an_outside_address(stack):
    if stack.target.embedded is None:
        pytest.skip("the outside test host is a network namespace on the embedded node; on AKS use its egress firewall")
    with outside_host() as (address, port), scratch_namespace(stack.kube, "outside-control", stack.toolbox_image()) as ns:
        ns.sleeper("control")
        assert ns.can_connect("control", address, port), "the outside test host is unreachable even without policy"
        for source in (s for s in SOURCES if deployed(stack, s)):
            assert not stack.connects(source, address, port), f"{source} reached {address}:{port} outside the cluster"
