"""Static checks of the MS5 Helm chart: lint, both profiles render, every object is well formed.

Pure rendering needs only the helm binary; the server-side dry-run (marked `cluster`) needs the
`kubeconfig` fixture of a running cluster.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
import yaml

from ms5harness import chart
from ms5harness.errors import HarnessError

from chart_checks import pod_templates, scratch_values, server_dry_run

PROFILES = ("local", "aks")
STANDARD_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
)
LONG_RUNNING = {"Deployment", "StatefulSet", "DaemonSet"}
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
CRDS = sorted((Path(__file__).parent / "crds").glob("*.yaml"))


@pytest.fixture(scope="module", params=PROFILES)
def profile(request) -> str:
    return request.param


_cache: dict[str, list[dict]] = {}


def objects(profile: str) -> list[dict]:
    if profile not in _cache:
        _cache[profile] = chart.render(profile, chart.example_values(profile))
    return _cache[profile]


def containers(pod_spec: dict, init: bool = True) -> list[dict]:
    return list(pod_spec.get("containers", [])) + (list(pod_spec.get("initContainers", [])) if init else [])


def where(obj: dict) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


# --- lint and render ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["default", *PROFILES])
def test_helm_lint(name):
    out = chart.lint(name, chart.example_values(name))
    assert "0 chart(s) failed" in out


def test_profiles_render(profile):
    objs = objects(profile)
    kinds = {o["kind"] for o in objs}
    assert {"Namespace", "StatefulSet", "Deployment", "Service", "NetworkPolicy", "ConfigMap"} <= kinds
    namespace = next(o for o in objs if o["kind"] == "Namespace")["metadata"]["name"]
    for o in objs:
        if o["kind"] not in chart.CLUSTER_SCOPED:
            assert o["metadata"].get("namespace") == namespace, where(o)
    names = [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objs]
    assert len(names) == len(set(names)), "duplicate objects"


def test_every_plan_object_present():
    """The objects the issue lists, by kind and component, in the AKS profile (everything on)."""
    objs = objects("aks")
    have = {(o["kind"], o["metadata"]["labels"]["app.kubernetes.io/component"]) for o in objs}
    want = {
        ("Namespace", "namespace"), ("ResourceQuota", "namespace"), ("LimitRange", "namespace"),
        ("ConfigMap", "config"), ("SecretProviderClass", "keyvault"),
        ("StatefulSet", "postgres"), ("ConfigMap", "postgres"), ("Job", "migrations"), ("CronJob", "postgres-backup"),
        ("StatefulSet", "redis"), ("StatefulSet", "redis-sentinel"), ("ConfigMap", "redis"),
        ("Deployment", "backend"), ("HorizontalPodAutoscaler", "backend"),
        ("Deployment", "celery-worker"), ("HorizontalPodAutoscaler", "celery-worker"),
        ("Deployment", "celery-beat"), ("Deployment", "flower"), ("Deployment", "nginx"), ("ConfigMap", "nginx"),
        ("StatefulSet", "minio"), ("Job", "minio-setup"),
        ("StatefulSet", "prometheus"), ("ClusterRole", "prometheus"), ("StatefulSet", "grafana"),
        ("ConfigMap", "grafana"), ("StatefulSet", "alertmanager"), ("ConfigMap", "alertmanager"),
    }  # fmt: skip
    assert want <= have, sorted(want - have)
    services = {o["metadata"]["name"] for o in objs if o["kind"] == "Service"}
    for name in ("ms5-postgres", "ms5-postgres-read", "ms5-postgres-headless", "ms5-postgres-metrics",
                 "ms5-redis", "ms5-redis-headless", "ms5-redis-sentinel", "ms5-redis-metrics",
                 "ms5-backend", "ms5-flower", "ms5-nginx", "ms5-minio", "ms5-prometheus", "ms5-grafana", "ms5-alertmanager"):
        assert name in services, name
    local_secret = [o for o in objects("local") if o["kind"] == "Secret"]
    assert len(local_secret) == 1


# --- images, resources, probes, security ----------------------------------------------------------


# Not built here (their licences are not for this project): the aks profile pulls them pinned from upstream.
UPSTREAM_ONLY = ("docker.io/grafana/grafana:", "quay.io/minio/minio:")


def test_images_pinned_and_qualified(profile):
    registry = chart.image_registry(profile)
    for owner, tpl in pod_templates(objects(profile)):
        for c in containers(tpl["spec"]):
            image = c["image"]
            name, _, tag = image.partition("@")[0].rpartition(":")  # upstream images also carry @digest on AKS
            assert name and tag and tag != "latest" and "@" not in tag, f"{where(owner)} {image}"
            assert "/" in name and "." in name.split("/")[0] or name.startswith("localhost/"), f"{where(owner)}: {image} is not fully qualified"
            assert c["imagePullPolicy"] == "IfNotPresent", f"{where(owner)} {c['name']}"
            if not image.startswith(UPSTREAM_ONLY):
                assert image.startswith(f"{registry}/"), f"{profile} profile pulls {image} outside {registry}"


def test_annotations_and_labels_are_strings(profile):
    """Kubernetes refuses a number there; a config checksum that happens to be all digits (or digits
    with one 'e') would render as one unless quoted, and fail a deploy one render in a thousand."""
    for obj in objects(profile):
        metas = [obj["metadata"]] + [tpl["metadata"] for owner, tpl in pod_templates([obj]) if "metadata" in tpl]
        for meta in metas:
            for field in ("annotations", "labels"):
                for key, value in (meta.get(field) or {}).items():
                    assert isinstance(value, str), f"{where(obj)} {field} {key}: {value!r} is not a string"
    checksums = [line for line in chart.template(profile, chart.example_values(profile)).splitlines() if "checksum/" in line]
    assert checksums and all(re.search(r'checksum/\S+: "[0-9a-f]{16}"$', line) for line in checksums), checksums[:3]


def test_resources_on_every_container(profile):
    for owner, tpl in pod_templates(objects(profile)):
        for c in containers(tpl["spec"]):
            res = c.get("resources", {})
            for side in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(res.get(side, {})), f"{where(owner)} {c['name']} lacks {side}"


def test_probes_on_every_long_running_container(profile):
    for owner, tpl in pod_templates(objects(profile)):
        if owner["kind"] not in LONG_RUNNING:
            continue  # Job pods run to completion; probes do not apply
        for c in containers(tpl["spec"], init=False):
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert probe in c, f"{where(owner)} {c['name']} lacks {probe}"


def test_pod_security_restricted(profile):
    for owner, tpl in pod_templates(objects(profile)):
        spec = tpl["spec"]
        psc = spec.get("securityContext", {})
        assert psc.get("runAsNonRoot") is True, where(owner)
        assert psc.get("runAsUser", 0) > 0, where(owner)
        assert psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", where(owner)
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(key), where(owner)
        for vol in spec.get("volumes", []):
            kinds = set(vol) - {"name"}
            assert kinds <= RESTRICTED_VOLUMES, f"{where(owner)} volume {vol['name']}: {kinds}"
        for c in containers(spec):
            sc = c.get("securityContext", {})
            ctx = f"{where(owner)} {c['name']}"
            assert sc.get("allowPrivilegeEscalation") is False, ctx
            assert sc.get("readOnlyRootFilesystem") is True, ctx
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], ctx
            assert not sc.get("capabilities", {}).get("add"), ctx
            assert not sc.get("privileged"), ctx
            assert sc.get("runAsNonRoot", True) is True, ctx
            assert not any("hostPort" in p for p in c.get("ports", [])), ctx


def test_service_account_per_workload_and_token_automount(profile):
    objs = objects(profile)
    accounts = {o["metadata"]["name"]: o for o in objs if o["kind"] == "ServiceAccount"}
    used = {}
    for owner, tpl in pod_templates(objs):
        sa = tpl["spec"]["serviceAccountName"]
        assert sa in accounts, f"{where(owner)} uses missing {sa}"
        component = owner["metadata"]["labels"]["app.kubernetes.io/component"]
        assert used.setdefault(sa, component) == component, f"{sa} shared by {used[sa]} and {component}"
        assert tpl["spec"]["automountServiceAccountToken"] is False, where(owner)  # tokens: test_hardening.py
    for sa in accounts.values():
        assert sa["automountServiceAccountToken"] is False


# --- networking ---------------------------------------------------------------------------------


def selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def test_every_pod_selected_by_network_policies(profile):
    objs = objects(profile)
    policies = [o for o in objs if o["kind"] == "NetworkPolicy"]
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and not p["spec"].get("ingress") and not p["spec"].get("egress")]
    assert deny and set(deny[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}, "no default deny"
    dns = [p for p in policies if p["spec"]["podSelector"] == {} and p["spec"].get("egress")]
    dns_ports = yaml.safe_load((chart.CHART_DIR / f"values-{profile}.yaml").read_text()).get("networkPolicy", {}).get("dns", {}).get("ports", [53])
    assert dns and {port["port"] for rule in dns[0]["spec"]["egress"] for port in rule["ports"]} == set(dns_ports)
    for owner, tpl in pod_templates(objs):
        labels = tpl["metadata"]["labels"]
        own = [p for p in policies if p["spec"]["podSelector"] and selects(p["spec"]["podSelector"], labels)]
        assert own, f"{where(owner)}: no NetworkPolicy of its own"
        assert all(set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"} for p in own)


def test_network_flows_are_exactly_the_needed_ones():
    """Spot-check both directions of a few flows and the absence of unneeded ones."""
    policies = {o["metadata"]["name"]: o["spec"] for o in objects("aks") if o["kind"] == "NetworkPolicy"}

    def peers(spec: dict, direction: str) -> set[tuple[str, int]]:
        out = set()
        for rule in spec.get(direction) or []:
            for peer in rule.get("from" if direction == "ingress" else "to", []):
                name = peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component") or peer.get("ipBlock", {}).get("cidr")
                for port in rule.get("ports", []):
                    out.add((name, port["port"]))
        return out

    pg_in = peers(policies["ms5-postgres"], "ingress")
    assert ("backend", 5432) in pg_in and ("celery-worker", 5432) in pg_in and ("prometheus", 9187) in pg_in
    assert ("nginx", 5432) not in pg_in and ("celery-beat", 5432) not in pg_in
    assert ("postgres", 5432) in peers(policies["ms5-backend"], "egress")
    assert peers(policies["ms5-nginx"], "ingress") == {("0.0.0.0/0", 8080), ("0.0.0.0/0", 8443),
                                                        ("blackbox-exporter", 8080)}
    assert peers(policies["ms5-blackbox-exporter"], "ingress") == {("prometheus", 9115)}
    assert peers(policies["ms5-blackbox-exporter"], "egress") == {("nginx", 8080)}
    assert not peers(policies["ms5-minio"], "egress")
    assert peers(policies["ms5-celery-beat"], "ingress") == set()


def test_every_service_selects_pods(profile):
    objs = objects(profile)
    templates = pod_templates(objs)
    for svc in (o for o in objs if o["kind"] == "Service"):
        selector = dict(svc["spec"]["selector"])
        runtime = svc["metadata"].get("annotations", {}).get("ms5.io/runtime-selector-labels", "")
        for key in filter(None, runtime.split(",")):
            assert key in selector
            selector.pop(key)  # set at run time on the pods (Patroni role, Redis role labeler)
        matches = [(o, t) for o, t in templates if selects({"matchLabels": selector}, t["metadata"]["labels"])]
        assert matches, f"{where(svc)} selects no pods"
        for port in svc["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            for owner, tpl in matches:
                declared = {p.get("name") for c in tpl["spec"]["containers"] for p in c.get("ports", [])}
                numbers = {p["containerPort"] for c in tpl["spec"]["containers"] for p in c.get("ports", [])}
                assert target in declared or target in numbers, f"{where(svc)} port {target} not on {where(owner)}"


def test_entry_point_per_profile():
    svc = {p: next(o for o in objects(p) if o["kind"] == "Service" and o["metadata"]["name"] == "ms5-nginx") for p in PROFILES}
    assert svc["aks"]["spec"]["type"] == "LoadBalancer"
    assert svc["local"]["spec"]["type"] == "NodePort" and svc["local"]["spec"]["ports"][0]["nodePort"] == 30080
    others = [o for o in objects("aks") if o["kind"] == "Service" and o["spec"].get("type") == "LoadBalancer"]
    assert [o["metadata"]["name"] for o in others] == ["ms5-nginx"], "nginx must be the one entry point"
    conf = next(o for o in objects("aks") if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "ms5-nginx-config")
    text = conf["data"]["nginx.conf"]
    for needle in ("location /api/", "location /ws", "location /health", "proxy_set_header Upgrade $http_upgrade"):
        assert needle in text


# --- labels ---------------------------------------------------------------------------------------


def test_standard_labels(profile):
    for o in objects(profile):
        labels = o["metadata"].get("labels", {})
        missing = [k for k in STANDARD_LABELS if k not in labels]
        assert not missing, f"{where(o)} lacks {missing}"
        assert labels["app.kubernetes.io/part-of"] == "ms5-dashboard"
    for owner, tpl in pod_templates(objects(profile)):
        missing = [k for k in STANDARD_LABELS if k not in tpl["metadata"]["labels"]]
        assert not missing, f"pods of {where(owner)} lack {missing}"


# --- workloads --------------------------------------------------------------------------------------


def find(profile: str, kind: str, name: str) -> dict:
    return next(o for o in objects(profile) if o["kind"] == kind and o["metadata"]["name"] == name)


def test_backend_rollout_and_scaling(profile):
    backend = find(profile, "Deployment", "ms5-backend")
    assert backend["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    hpa = find(profile, "HorizontalPodAutoscaler", "ms5-backend")
    assert hpa["spec"]["minReplicas"] >= 2
    # the API scales on CPU: its memory does not follow load, so a memory target would only ratchet (values.yaml)
    assert {m["resource"]["name"] for m in hpa["spec"]["metrics"] if m["type"] == "Resource"} == {"cpu"}
    worker = find(profile, "HorizontalPodAutoscaler", "ms5-celery-worker")
    assert {m["resource"]["name"] for m in worker["spec"]["metrics"] if m["type"] == "Resource"} == {"cpu", "memory"}
    beat = find(profile, "Deployment", "ms5-celery-beat")
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"] == {"type": "Recreate"}
    assert not [o for o in objects(profile) if o["kind"] == "HorizontalPodAutoscaler" and o["spec"]["scaleTargetRef"]["name"] == "ms5-celery-beat"]
    pdb = find(profile, "PodDisruptionBudget", "ms5-backend")
    assert pdb["spec"]["minAvailable"] >= 1


def test_custom_metrics_only_with_an_adapter():
    plain = find("aks", "HorizontalPodAutoscaler", "ms5-backend")
    assert {m["type"] for m in plain["spec"]["metrics"]} == {"Resource"}
    objs = chart.render("aks", chart.example_values("aks"), api_versions=(*chart.AKS_API_VERSIONS, "custom.metrics.k8s.io/v1beta1", "external.metrics.k8s.io/v1beta1"))
    hpas = {o["metadata"]["name"]: o for o in objs if o["kind"] == "HorizontalPodAutoscaler"}
    assert "Pods" in {m["type"] for m in hpas["ms5-backend"]["spec"]["metrics"]}
    assert "External" in {m["type"] for m in hpas["ms5-celery-worker"]["spec"]["metrics"]}


def test_postgres_ha_and_backup(profile):
    pg = find(profile, "StatefulSet", "ms5-postgres")
    assert pg["spec"]["replicas"] == 2
    c = {x["name"]: x for x in pg["spec"]["template"]["spec"]["containers"]}
    assert c["postgres"]["command"][0] == "patroni" and "postgres-exporter" in c
    conf = yaml.safe_load(find(profile, "ConfigMap", "ms5-postgres-patroni")["data"]["patroni.yml"])
    assert conf["kubernetes"]["use_endpoints"] is False and conf["bootstrap"]["dcs"]["postgresql"]["parameters"]
    primary = find(profile, "Service", "ms5-postgres")
    read = find(profile, "Service", "ms5-postgres-read")
    assert primary["spec"]["selector"]["role"] == "master" and read["spec"]["selector"]["role"] == "replica"
    backup = find(profile, "CronJob", "ms5-postgres-backup")
    restore = find(profile, "CronJob", "ms5-postgres-restore")
    assert backup["spec"]["suspend"] is False and restore["spec"]["suspend"] is True
    env = {e["name"]: e for e in backup["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["S3_BUCKET"]["value"] == "ms5-backups" and "secretKeyRef" in env["PGPASSWORD"]["valueFrom"]


def test_redis_aof_password_sentinel(profile):
    conf = find(profile, "ConfigMap", "ms5-redis-config")["data"]
    assert "appendonly yes" in conf["redis.conf"] and "requirepass" in conf["start-redis.sh"]
    assert find(profile, "StatefulSet", "ms5-redis-sentinel")["spec"]["replicas"] >= 3
    role = find(profile, "Role", "ms5-redis")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "patch"], "resourceNames": ["ms5-redis-0", "ms5-redis-1"]}]


def test_object_store_same_service_both_profiles():
    for p, image in (("aks", "quay.io/minio/minio:"), ("local", "localhost/ms5/s3:")):
        sts = find(p, "StatefulSet", "ms5-minio")
        assert sts["spec"]["template"]["spec"]["containers"][0]["image"].startswith(image)
        svc = find(p, "Service", "ms5-minio")
        assert svc["spec"]["ports"][0]["port"] == 9000
    buckets = json.loads(find("local", "ConfigMap", "ms5-minio-setup")["data"]["buckets.json"])
    assert [b["name"] for b in buckets] == ["ms5-uploads", "ms5-reports", "ms5-backups", "ms5-temp"]


def test_in_memory_store_keeps_its_buckets_itself():
    """The in-memory store forgets its buckets on every restart, so a one-off Job cannot set it up:
    a sidecar re-applies the setup and gates readiness; only persistent MinIO gets the Job."""
    pod = find("local", "StatefulSet", "ms5-minio")["spec"]["template"]["spec"]
    sidecar = next(c for c in pod["containers"] if c["name"] == "buckets")
    assert sidecar["command"][:3] == ["ms5-s3-setup", "--every", "10"]
    assert sidecar["readinessProbe"]["exec"]["command"] == ["sh", "-c", "grep -qx ok /tmp/buckets-state"]
    local = {(o["kind"], o["metadata"]["name"]) for o in objects("local")}
    assert not {("Job", "ms5-minio-setup"), ("ServiceAccount", "ms5-minio-setup")} & local
    assert [c["name"] for c in find("aks", "StatefulSet", "ms5-minio")["spec"]["template"]["spec"]["containers"]] == ["minio"]


def test_grafana_configmaps_render_without_server():
    local = objects("local")
    assert not [o for o in local if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "ms5-grafana"]
    boards = find("local", "ConfigMap", "ms5-grafana-dashboards")["data"]
    assert set(boards) == {"system-overview.json", "production.json", "andon.json", "slos.json"}
    for name, text in boards.items():
        dash = json.loads(text)
        assert dash["panels"], name
        for panel in dash["panels"]:
            assert panel["datasource"]["uid"] == "prometheus"
            for target in panel["targets"]:
                assert target["expr"].strip() and "$" not in target["expr"], f"{name}: {panel['title']}"
    ds = yaml.safe_load(find("local", "ConfigMap", "ms5-grafana-provisioning")["data"]["datasources.yaml"])
    assert ds["datasources"][0]["url"] == "http://ms5-prometheus:9090"


def rule_groups(profile: str) -> dict[str, list[dict]]:
    groups = {}
    for o in objects(profile):
        if o["kind"] == "ConfigMap" and o["metadata"]["labels"]["app.kubernetes.io/component"] == "prometheus":
            for key, text in o["data"].items():
                if key != "prometheus.yml":
                    for g in yaml.safe_load(text)["groups"]:
                        groups[g["name"]] = g["rules"]
    return groups


def test_sli_slo_cost_rules():
    groups = rule_groups("aks")
    records = {r["record"] for rules in groups.values() for r in rules if "record" in r}
    for name in ("ms5:http_requests:rate5m", "ms5:http_request_duration_seconds:p50", "ms5:http_request_duration_seconds:p95",
                 "ms5:http_request_duration_seconds:p99", "ms5:sli_error_ratio:rate5m", "ms5:sli_unavailability:ratio1h",
                 "ms5:db_query_duration_seconds:p95", "ms5:cache_hit_ratio:rate5m", "ms5:workload_cost:per_hour",
                 "ms5:node_pool_cpu_core_hour:price", "ms5:namespace_cost:projected_month"):
        assert name in records, name
    alerts = {r["alert"]: r for rules in groups.values() for r in rules if "alert" in r}
    for slo in ("Availability", "ErrorRate", "Latency"):
        fast, slow = alerts[f"MS5{slo}BudgetBurnFast"], alerts[f"MS5{slo}BudgetBurnSlow"]
        assert fast["labels"]["severity"] == "critical" and slow["labels"]["severity"] == "warning"
        assert "14.4" in fast["expr"] and "6 *" in fast["expr"] and "1 *" in slow["expr"]
    assert "0.001)" in alerts["MS5AvailabilityBudgetBurnFast"]["expr"]
    assert "0.05)" in alerts["MS5LatencyBudgetBurnFast"]["expr"] and "0.01)" in alerts["MS5ErrorRateBudgetBurnFast"]["expr"]
    assert 'le="0.2"' in " ".join(r.get("expr", "") for r in groups["ms5-sli-windows"])
    assert "MS5MonthlyBudgetExceeded" in alerts
    workloads = {r["labels"]["workload"] for r in groups["ms5-cost-requests"]}
    assert {"backend", "postgres", "redis", "prometheus", "celery-worker"} <= workloads
    pools = {r["labels"]["pool"] for r in groups["ms5-cost-prices"]}
    assert pools == {"system", "database", "compute", "monitoring", "spot"}


# --- secrets --------------------------------------------------------------------------------------------


def test_secrets_generated_never_literal():
    first = find("local", "Secret", "ms5-secrets")["data"]
    second = chart.render("local")
    again = next(o for o in second if o["kind"] == "Secret")["data"]
    assert set(first) == set(again) and all(first[k] != again[k] for k in first), "not random per install"
    assert find("local", "Secret", "ms5-secrets")["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    template = (chart.CHART_DIR / "templates" / "secrets" / "secret.yaml").read_text()
    assert "lookup" in template and "randAlphaNum" in template
    for f in chart.CHART_DIR.glob("values*.yaml"):
        assert yaml.safe_load(f.read_text()).get("secrets", {}).get("values", {}) in ({}, None), f.name
    aks = objects("aks")
    assert not [o for o in aks if o["kind"] == "Secret"]
    spc = next(o for o in aks if o["kind"] == "SecretProviderClass")
    assert spc["spec"]["secretObjects"][0]["secretName"] == "ms5-secrets"
    for owner, tpl in pod_templates(aks):
        refs = [e for c in containers(tpl["spec"]) for e in c.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})]
        if refs:
            assert any(v.get("csi", {}).get("driver") == "secrets-store.csi.k8s.io" for v in tpl["spec"]["volumes"]), where(owner)


def test_explicit_secret_values_win():
    objs = chart.render("local", {"secrets.values": {"REDIS_PASSWORD": "from-ci-vault"}})
    data = next(o for o in objs if o["kind"] == "Secret")["data"]
    import base64

    assert base64.b64decode(data["REDIS_PASSWORD"]).decode() == "from-ci-vault"


# --- resource figures ------------------------------------------------------------------------------------


def cores(q) -> float:
    q = str(q)
    return float(q[:-1]) / 1000 if q.endswith("m") else float(q)


def test_local_profile_fits_two_cores():
    objs = objects("local")
    hpa_min = {o["spec"]["scaleTargetRef"]["name"]: o["spec"]["minReplicas"] for o in objs if o["kind"] == "HorizontalPodAutoscaler"}
    total = 0.0
    for owner, tpl in pod_templates(objs):
        if owner["kind"] not in LONG_RUNNING:
            continue
        replicas = hpa_min.get(owner["metadata"]["name"], owner["spec"].get("replicas", 1))
        total += replicas * sum(cores(c["resources"]["requests"]["cpu"]) for c in containers(tpl["spec"]))
    assert total < 1.0, f"local CPU requests {total:.2f} cores"
    quota = next(o for o in objs if o["kind"] == "ResourceQuota")["spec"]["hard"]
    assert cores(quota["requests.cpu"]) <= 1.5


def test_aks_profile_plan_figures():
    def limits(kind, name, container):
        o = find("aks", kind, name)
        c = next(c for c in o["spec"]["template"]["spec"]["containers"] if c["name"] == container)
        return c["resources"]["limits"]

    plan = {  # Phase 2 plan: CPU cores, memory
        ("StatefulSet", "ms5-postgres", "postgres"): ("2", "4Gi"),
        ("StatefulSet", "ms5-redis", "redis"): ("1", "2Gi"),
        ("Deployment", "ms5-backend", "api"): ("2", "4Gi"),
        ("Deployment", "ms5-celery-worker", "worker"): ("1", "2Gi"),
        ("Deployment", "ms5-celery-beat", "beat"): ("500m", "1Gi"),
        ("Deployment", "ms5-flower", "flower"): ("500m", "1Gi"),
        ("StatefulSet", "ms5-minio", "minio"): ("2", "4Gi"),
        ("StatefulSet", "ms5-prometheus", "prometheus"): ("2", "4Gi"),
        ("StatefulSet", "ms5-grafana", "grafana"): ("1", "2Gi"),
        ("StatefulSet", "ms5-alertmanager", "alertmanager"): ("1", "2Gi"),
    }
    for (kind, name, container), (cpu, memory) in plan.items():
        assert limits(kind, name, container) == {"cpu": cpu, "memory": memory}, name
    sizes = {"ms5-postgres": "100Gi", "ms5-redis": "10Gi", "ms5-minio": "500Gi", "ms5-prometheus": "200Gi",
             "ms5-grafana": "10Gi", "ms5-alertmanager": "5Gi"}
    for name, size in sizes.items():
        claim = find("aks", "StatefulSet", name)["spec"]["volumeClaimTemplates"][0]["spec"]
        assert claim["resources"]["requests"]["storage"] == size and claim["storageClassName"] == "managed-csi-premium"
    pools = {"ms5-postgres": "database", "ms5-backend": "compute", "ms5-prometheus": "monitoring", "ms5-flower": "spot"}
    for name, pool in pools.items():
        o = next(o for o in objects("aks") if o["metadata"]["name"] == name and o["kind"] in LONG_RUNNING)
        assert o["spec"]["template"]["spec"]["nodeSelector"] == {"kubernetes.azure.com/agentpool": pool}
    assert all(o["spec"]["template"]["spec"]["containers"][0]["image"].startswith("ms5acrprod.azurecr.io/ms5/")
               for o in objects("aks") if o["kind"] == "Deployment")


# --- numbered files and schema ---------------------------------------------------------------------------


def test_every_object_has_a_numbered_file(profile):
    for o in objects(profile):
        chart.numbered_file(o)


def test_numbered_files_match_the_chart():
    drift = chart.numbered_drift()
    assert not drift, "manifests/k8s is out of date (run ms5harness manifests render): " + "; ".join(drift)


def test_schema_matches_values():
    on_disk = json.loads((chart.CHART_DIR / "values.schema.json").read_text())
    assert on_disk == chart.build_schema(), "values.schema.json is stale: run `ms5harness manifests schema`"
    assert on_disk["additionalProperties"] is False


def test_values_documented():
    """Every key of values.yaml has a comment line right above it or above one of its parents."""
    lines = (chart.CHART_DIR / "values.yaml").read_text().splitlines()
    stack: list[tuple[int, bool]] = []  # (indent, documented) of the enclosing keys
    undocumented = []
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)([A-Za-z0-9_.\-/]+):(.*)$", line)
        if not m:
            continue
        indent = len(m.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        documented = (i > 0 and lines[i - 1].strip().startswith("#")) or any(d for _, d in stack)
        following = next((ln for ln in lines[i + 1:] if ln.strip() and not ln.strip().startswith("#")), "")
        is_map = not m.group(3).strip() and not following.strip().startswith("-")
        if not documented and not is_map:
            undocumented.append(f"line {i + 1}: {line.strip()}")
        stack.append((indent, documented))
    assert not undocumented, undocumented


@pytest.mark.parametrize(
    ("values", "needle"),
    [
        ({"backend.replicaz": 3}, "backend.replicaz: unknown key"),
        ({"postgres.replicas": "two"}, "postgres.replicas: got string, want integer"),
        ({"images.backend.tag": "latest"}, "images.backend.tag: value not allowed"),
        ({"minio.implementation": "ceph"}, "minio.implementation"),
        ({"nginx.service.nodePort": 80}, "nginx.service.nodePort"),
    ],
)
def test_bad_values_rejected_with_key_path(values, needle):
    with pytest.raises(HarnessError) as err:
        chart.render("local", values)
    message = str(err.value)
    assert needle in message and "\n" not in message


def test_bad_values_file_rejected():
    path = scratch_values({"redis": {"sentinel": {"quorom": 2}}})
    try:
        with pytest.raises(HarnessError, match=r"redis\.sentinel\.quorom: unknown key"):
            chart.template("local", values=[path])
    finally:
        path.unlink()


def test_keyvault_profile_requires_ids():
    with pytest.raises(HarnessError, match="tenantId"):
        chart.render("aks", {**chart.example_values("aks"), "secrets.keyVault.tenantId": ""})


def test_required_permissions_cover_every_kind():
    needed = chart.required_permissions(objects("aks"))
    resources = {r for _, r, _ in needed}
    for r in ("namespaces", "clusterroles.rbac.authorization.k8s.io", "statefulsets.apps",
              "networkpolicies.networking.k8s.io", "secretproviderclasses.secrets-store.csi.x-k8s.io"):
        assert r in resources, r
    assert ("create", "namespaces", "") in needed


# --- against a real API server ---------------------------------------------------------------------------


@pytest.mark.cluster
@pytest.mark.parametrize("name", PROFILES)
def test_server_side_dry_run(kubeconfig, name):
    """Every rendered object (Istio objects included) is accepted by the API server; every pod passes
    the namespace's Pod Security "restricted" admission."""
    namespace = f"ms5-dryrun-{name}-{uuid.uuid4().hex[:6]}"
    # fixed node ports are left to the API server: a deployed release may already hold them
    free_ports = {f"{c}.service.nodePort": 0 for c in ("nginx", "prometheus", "alertmanager", "alertWebhook")}
    objs = chart.render(name, {**chart.example_values(name), "namespace.name": namespace, "istio.enabled": True, **free_ports})
    problems = server_dry_run(objs, kubeconfig, CRDS)
    assert not problems, "\n".join(problems)


@pytest.mark.cluster
def test_missing_permissions_are_named(kubeconfig):
    """A deployer without rights gets one line naming what it lacks (checked with an empty identity)."""
    objs = chart.render("local", {"namespace.name": f"ms5-perm-{uuid.uuid4().hex[:6]}"})
    assert chart.missing_permissions(objs, kubeconfig) == []
    impersonated = _impersonating(kubeconfig, "system:serviceaccount:default:ms5-nobody")
    try:
        with pytest.raises(HarnessError) as err:
            chart.check_permissions(objs, impersonated)
        assert "create namespaces" in str(err.value) and "\n" not in str(err.value)
    finally:
        impersonated.unlink()


def _impersonating(kubeconfig: Path, user: str) -> Path:
    conf = yaml.safe_load(kubeconfig.read_text())
    for entry in conf.get("users", []):
        entry["user"]["as"] = user
    return scratch_values(conf)
