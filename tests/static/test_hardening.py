"""What the AKS profile must be before anyone applies it (issue 13, items 2, 4, 5 and 7), read from the
rendered chart: the entry point (TLS, source ranges, no public Flower, security headers), HA placement,
least privilege (Patroni's Role, API egress, ServiceAccount tokens), and the guards on placeholders."""

from __future__ import annotations

import re

import pytest
import yaml

from ms5harness import chart, cli, deploy
from ms5harness.errors import HarnessError
from ms5harness.objectives import chart_values

from chart_checks import pod_templates, rendered

PROFILES = ("local", "aks")
HA_COMPONENTS = ("postgres", "redis", "redis-sentinel", "alertmanager")
SECURITY_HEADERS = ("X-Content-Type-Options nosniff", "X-Frame-Options DENY", "Referrer-Policy no-referrer",
                    "Content-Security-Policy \"default-src 'none'; frame-ancestors 'none'\"",
                    "Permissions-Policy", "Cross-Origin-Opener-Policy same-origin")
# The containers that call the Kubernetes API: Patroni, the Redis role labeler, Prometheus (kubelet scrape) and its SD.
API_CLIENTS = {("postgres", "postgres"), ("redis", "redis-labeler"), ("prometheus", "prometheus"), ("prometheus", "k8s-sd")}
TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
# What a real AKS deploy sets on top of values-aks.yaml: no placeholder is left.
REAL_AKS_VALUES = {
    "secrets.keyVault.tenantId": "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
    "secrets.keyVault.clientId": "6fa459ea-ee8a-3ca4-894e-db77e160355e",
    "config.allowedOrigins": "https://ms5.factory.internal",
    "nginx.service.loadBalancerSourceRanges": ["10.40.0.0/16"],
    "networkPolicy.apiServer.cidrs": ["20.49.160.12/32"],
    "networkPolicy.alertmanagerEgress.cidrs": ["10.40.8.4/32"],
    "images.grafana.digest": "sha256:" + "a1" * 32,
    "images.minio.digest": "sha256:" + "b2" * 32,
    "postgres.backup.store.endpoint": "https://ms5backups.blob-gateway.factory.internal",
    "postgres.backup.store.cidrs": ["10.41.2.0/24"],
    **{f"images.{key}.tag": "c0ffee123456" for key, image in chart_values("aks")["images"].items()
       if isinstance(image, dict) and "tag" in image and "digest" not in image},  # every project image's content tag
}

_cache: dict[str, list[dict]] = {}


@pytest.fixture(params=PROFILES)
def profile(request) -> str:
    return request.param


def objects(profile: str) -> list[dict]:
    if profile not in _cache:
        _cache[profile] = rendered(profile)
    return _cache[profile]


def find(profile: str, kind: str, name: str) -> dict:
    return next(o for o in objects(profile) if o["kind"] == kind and o["metadata"]["name"] == name)


def nginx_conf(profile: str) -> dict[str, str]:
    return find(profile, "ConfigMap", "ms5-nginx-config")["data"]


def server_blocks(conf: str) -> list[str]:
    """The text of each `server { ... }` block (braces balanced)."""
    blocks, depth, start = [], 0, None
    for i, ch in enumerate(conf):
        if conf.startswith("server {", i) and start is None:
            start, depth = i, 0
        if start is not None and ch == "{":
            depth += 1
        elif start is not None and ch == "}":
            depth -= 1
            if depth == 0:
                blocks.append(conf[start:i + 1])
                start = None
    return blocks


def locations(block: str) -> set[str]:
    return set(re.findall(r"location ([^{]+?) \{", block))


# --- item 2: the entry point -------------------------------------------------------------------------


def test_aks_entry_point_speaks_tls_to_listed_clients_only():
    svc = find("aks", "Service", "ms5-nginx")["spec"]
    assert {(p["name"], p["port"], p["targetPort"]) for p in svc["ports"]} == {("http", 80, "http"), ("https", 443, "https")}
    assert svc["loadBalancerSourceRanges"] and "0.0.0.0/0" not in svc["loadBalancerSourceRanges"]
    pod = find("aks", "Deployment", "ms5-nginx")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["tls"]["secret"]["secretName"] == "ms5-nginx-tls"
    assert volumes["tls-keyvault"]["csi"]["volumeAttributes"]["secretProviderClass"] == "ms5-nginx-tls"
    spc = find("aks", "SecretProviderClass", "ms5-nginx-tls")["spec"]
    (synced,) = spc["secretObjects"]
    assert synced["type"] == "kubernetes.io/tls" and synced["secretName"] == "ms5-nginx-tls"
    assert {d["key"] for d in synced["data"]} == {"tls.crt", "tls.key"}
    assert "objectName: ms5-tls" in spc["parameters"]["objects"], "only the certificate, no other credential"


def test_aks_plain_http_only_redirects_and_https_sends_hsts():
    plain, tls = server_blocks(nginx_conf("aks")["nginx.conf"])
    assert "listen 8080" in plain and "return 308 https://$host$request_uri;" in plain
    assert "proxy_pass" not in plain, "plain HTTP must not reach the backend"
    assert "listen 8443 ssl" in tls and "ssl_certificate /etc/nginx-tls/tls.crt;" in tls
    assert "Strict-Transport-Security" in tls and "Strict-Transport-Security" not in plain
    ingress = find("aks", "NetworkPolicy", "ms5-nginx")["spec"]["ingress"]
    assert {p["port"] for rule in ingress for p in rule["ports"]} == {8080, 8443}


def test_aks_profile_refused_without_source_ranges():
    with pytest.raises(HarnessError) as err:
        rendered("aks", {"nginx.service.loadBalancerSourceRanges": []})
    assert "nginx.service.loadBalancerSourceRanges is required on AKS" in str(err.value)
    assert "\n" not in str(err.value)


def test_local_entry_point_is_plain_http_without_hsts():
    (server,) = server_blocks(nginx_conf("local")["nginx.conf"])
    assert "ssl" not in server and "Strict-Transport-Security" not in server and "return 308" not in server
    assert [p["name"] for p in find("local", "Service", "ms5-nginx")["spec"]["ports"]] == ["http"]


def test_only_health_api_and_websocket_are_routed():
    """Everything else falls to `location /` and its 404: /flower/, the API's /metrics, /docs, /openapi.json."""
    for profile in PROFILES:
        conf = nginx_conf(profile)
        served = server_blocks(conf["nginx.conf"])[-1]
        assert locations(served) == {"/health", "/api/", "/ws", "/"}, profile
        assert re.search(r"location / \{\s*return 404;\s*\}", served)
        assert "include /etc/nginx-ms5/nginx-health.conf;" in served
        directives = [line for line in conf["nginx.conf"].splitlines() if not line.lstrip().startswith("#")]
        assert not [line for line in directives if "flower" in line], f"{profile}: Flower is on the public path"


def test_flower_has_no_ingress_at_all(profile):
    """Not through nginx, not from anywhere: `kubectl port-forward` (through the kubelet) is the way in."""
    policy = find(profile, "NetworkPolicy", "ms5-flower")["spec"]
    assert not policy.get("ingress")
    egress_to = {peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component")
                 for rule in find(profile, "NetworkPolicy", "ms5-nginx")["spec"]["egress"] for peer in rule["to"]}
    assert egress_to == {"backend"}


def test_security_headers_on_every_server_block(profile):
    conf = nginx_conf(profile)
    headers = conf["security-headers.conf"]
    for header in SECURITY_HEADERS:
        assert re.search(rf"add_header {re.escape(header)}.* always;", headers), header
    blocks = server_blocks(conf["nginx.conf"])
    for block in blocks:
        assert "include /etc/nginx-ms5/security-headers.conf;" in block
        # add_header inside a location would drop the server's headers for that location.
        for location in re.findall(r"location [^{]+\{[^}]*\}", block):
            assert "add_header" not in location, location


# --- item 4: placement -------------------------------------------------------------------------------


def workload(profile: str, component: str) -> dict:
    return next(o for o in objects(profile) if o["kind"] in {"StatefulSet", "Deployment"}
                and o["metadata"]["labels"]["app.kubernetes.io/component"] == component)


def test_aks_ha_replicas_never_share_a_node_and_spread_over_zones():
    for component in HA_COMPONENTS:
        owner = workload("aks", component)
        spec = owner["spec"]["template"]["spec"]
        own = {"matchLabels": owner["spec"]["selector"]["matchLabels"]}
        (term,) = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert term == {"topologyKey": "kubernetes.io/hostname", "labelSelector": own}, component
        (spread,) = spec["topologySpreadConstraints"]
        assert spread == {"topologyKey": "topology.kubernetes.io/zone", "maxSkew": 1,
                          "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": own}, component
    backend = workload("aks", "backend")["spec"]["template"]["spec"]
    assert "requiredDuringSchedulingIgnoredDuringExecution" not in backend["affinity"]["podAntiAffinity"]


def test_local_profile_keeps_what_one_node_allows():
    for _, tpl in pod_templates(objects("local")):
        spec = tpl["spec"]
        assert "requiredDuringSchedulingIgnoredDuringExecution" not in spec.get("affinity", {}).get("podAntiAffinity", {})
        assert "topologySpreadConstraints" not in spec


# --- item 5: least privilege -------------------------------------------------------------------------


def test_patroni_role_names_its_own_objects(profile):
    scope = yaml.safe_load(find(profile, "ConfigMap", "ms5-postgres-patroni")["data"]["patroni.yml"])["scope"]
    replicas = find(profile, "StatefulSet", "ms5-postgres")["spec"]["replicas"]
    rules = find(profile, "Role", "ms5-postgres")["rules"]
    unnamed = {(r["resources"][0], v) for r in rules if "resourceNames" not in r for v in r["verbs"]}
    assert unnamed == {("configmaps", "create"), ("configmaps", "list"), ("configmaps", "watch"),
                       ("pods", "list"), ("pods", "watch")}, "only what resourceNames cannot narrow"
    named = {r["resources"][0]: set(r["resourceNames"]) for r in rules if "resourceNames" in r}
    assert named == {"configmaps": {f"{scope}-{s}" for s in ("config", "leader", "failover", "sync")},
                     "pods": {f"ms5-postgres-{i}" for i in range(replicas)}}
    assert all(r["resources"][0] != "endpoints" for r in rules), "use_endpoints is off: no Endpoints rights"


def test_aks_api_egress_names_an_address():
    for component in ("postgres", "redis", "prometheus", "alertmanager"):
        egress = find("aks", "NetworkPolicy", f"ms5-{component}")["spec"]["egress"]
        cidrs = {peer["ipBlock"]["cidr"] for rule in egress for peer in rule["to"] if "ipBlock" in peer}
        assert "0.0.0.0/0" not in cidrs and "::/0" not in cidrs, f"{component}: open egress {cidrs}"


def test_api_token_only_in_the_containers_that_call_the_api(profile):
    objs = objects(profile)
    assert all(o["automountServiceAccountToken"] is False for o in objs if o["kind"] == "ServiceAccount")
    mounted = set()
    for owner, tpl in pod_templates(objs):
        spec = tpl["spec"]
        assert spec["automountServiceAccountToken"] is False, owner["metadata"]["name"]
        component = owner["metadata"]["labels"]["app.kubernetes.io/component"]
        for c in spec["containers"] + spec.get("initContainers", []):
            if any(m["mountPath"] == TOKEN_PATH for m in c.get("volumeMounts", [])):
                mounted.add((component, c["name"]))
        token = [v for v in spec.get("volumes", []) if v["name"] == "kube-api-access"]
        if token:
            sources = token[0]["projected"]["sources"]
            assert {"serviceAccountToken", "configMap", "downwardAPI"} == {k for s in sources for k in s}
    assert mounted == API_CLIENTS


# --- item 7: guards on the files people apply --------------------------------------------------------


def test_numbered_files_carry_the_placeholders_deploy_refuses():
    keys = {line.split(" ", 1)[0] for line in chart.placeholders("aks")}
    assert {"secrets.keyVault.tenantId", "secrets.keyVault.clientId", "images.backend.tag",
            "nginx.service.loadBalancerSourceRanges", "networkPolicy.apiServer.cidrs",
            "images.grafana.digest", "images.minio.digest"} <= keys
    numbered = (chart.K8S_DIR / "04-keyvault-csi.yaml").read_text()
    assert "00000000-0000-0000-0000-000000000000" in numbered, "render writes the files with placeholders"


def test_real_values_leave_no_placeholder():
    assert chart.placeholders("aks", REAL_AKS_VALUES) == []


def test_local_deploy_values_leave_no_placeholder():
    """The embedded cluster's deploy passes every project image's content tag: nothing to refuse."""
    tags = {k: v for k, v in REAL_AKS_VALUES.items() if k.endswith(".tag")}
    assert chart.placeholders("local", tags) == []


def test_deploy_refuses_placeholders_one_line_each():
    said = []
    with pytest.raises(HarnessError, match="placeholder value"):
        deploy.refuse_placeholders("aks", {**REAL_AKS_VALUES, "secrets.keyVault.clientId": "00000000-0000-0000-0000-000000000000",
                                           "networkPolicy.apiServer.cidrs": ["198.51.100.10/32"]}, said.append)
    assert len(said) == 2 and all("\n" not in line for line in said)
    assert said[0].startswith("refused: secrets.keyVault.clientId holds a placeholder") and "--set" in said[0]
    assert said[1].startswith("refused: networkPolicy.apiServer.cidrs holds a placeholder")


def test_manifests_check_refuses_the_placeholders(capsys):
    assert cli.main(["manifests", "check"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert any(line.startswith("refused: secrets.keyVault.tenantId holds a placeholder") for line in err)
    assert all(line.startswith("refused: ") and ": " in line for line in err)


def test_aks_third_party_images_pinned_by_digest():
    registry = chart.image_registry("aks")
    upstream = {c["image"] for _, tpl in pod_templates(objects("aks")) for c in tpl["spec"]["containers"]
                if not c["image"].startswith(f"{registry}/")}
    assert upstream, "the AKS profile runs Grafana and MinIO from upstream"
    for image in upstream:
        assert re.fullmatch(r"[^@]+:[A-Za-z0-9_.-]+@sha256:[0-9a-f]{64}", image), image
