"""Discovery: every Service resolves inside the cluster, has ready endpoints and answers on its ports."""


from flows import allowed_source
from ms5harness.verify.stack import COMPONENT, container_port


def fqdn(stack, svc) -> str:
    return f"{svc.metadata.name}.{stack.namespace}.svc.cluster.local"


def test_every_service_name_resolves_from_a_pod(stack):
    for svc in stack.services():
        result = stack.exec("backend", ["getent", "hosts", fqdn(stack, svc)])
        assert result.exit_code == 0 and result.stdout.strip(), f"{fqdn(stack, svc)} does not resolve"
        if svc.spec.cluster_ip not in (None, "None"):
            assert result.stdout.split()[0] == svc.spec.cluster_ip


def test_headless_names_resolve_to_the_selected_pods(stack):
    headless = [s for s in stack.services() if s.spec.cluster_ip == "None"]
    assert headless, "the chart defines no headless service"
    for svc in headless:
        pod_ips = {p.status.pod_ip for p in stack.pods(svc.spec.selector[COMPONENT])}
        result = stack.exec("backend", ["getent", "ahostsv4", fqdn(stack, svc)])
        resolved = {line.split()[0] for line in result.stdout.splitlines() if line.strip()}
        assert resolved and resolved <= pod_ips, f"{svc.metadata.name}: {resolved} not within {pod_ips}"


def test_read_replica_name_resolves_to_a_replica(stack):
    replicas = {p.status.pod_ip for p in stack.pods("postgres") if (p.metadata.labels or {}).get("role") == "replica"}
    assert replicas, "no postgres pod is labelled as a replica"
    read_svc = stack.service("postgres-read")
    slices = stack.kube.custom.list_namespaced_custom_object(
        "discovery.k8s.io", "v1", stack.namespace, "endpointslices",
        label_selector=f"kubernetes.io/service-name={read_svc.metadata.name}")["items"]
    addresses = {a for s in slices for e in s.get("endpoints") or [] for a in e["addresses"]}
    assert addresses and addresses <= replicas


def test_every_service_has_ready_endpoints(stack):
    for svc in stack.services():
        slices = stack.kube.custom.list_namespaced_custom_object(
            "discovery.k8s.io", "v1", stack.namespace, "endpointslices",
            label_selector=f"kubernetes.io/service-name={svc.metadata.name}")["items"]
        ready = [e for s in slices for e in s.get("endpoints") or [] if (e.get("conditions") or {}).get("ready")]
        assert ready, f"service {svc.metadata.name} has no ready endpoint"


def test_every_service_port_answers(stack):
    checked = 0
    for svc in stack.services():
        component = svc.spec.selector[COMPONENT]
        pod = stack.pods(component)[0]
        for port in svc.spec.ports:
            source = allowed_source(component, container_port(pod, port))
            if source is None:
                continue  # reached from the node only: covered by the entry-point and monitoring suites
            assert stack.connects(source, fqdn(stack, svc), port.port), \
                f"{svc.metadata.name}:{port.name} does not answer {source}"
            checked += 1
    assert checked >= 10, f"only {checked} service ports had an in-cluster client to check from"
