"""The fault proxy (values faultProxy): rendered only when enabled (the local profile), and then the only
way the backend's processes reach PostgreSQL and Redis; off, nothing of it renders and every client
connects to the Services directly."""

from __future__ import annotations

import json

import pytest

from ms5harness import chart

CLIENTS = ("ms5-backend", "ms5-celery-worker", "ms5-celery-beat", "ms5-flower")
_cache: dict[tuple[str, bool], list[dict]] = {}


def objects(profile: str, enabled: bool) -> list[dict]:
    if (profile, enabled) not in _cache:
        _cache[profile, enabled] = chart.render(profile, {**chart.example_values(profile), "faultProxy.enabled": enabled})
    return _cache[profile, enabled]


def of_component(objs: list[dict]) -> list[dict]:
    return [o for o in objs if o["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "fault-proxy"]


def env_of(objs: list[dict], name: str, kind: str = "Deployment") -> dict[str, str]:
    obj = next(o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)
    (container, *_) = obj["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def config(objs: list[dict]) -> dict[str, str]:
    return next(o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "ms5-config")["data"]


def test_the_profiles_choose_the_proxy():
    assert of_component(chart.render("local"))
    assert not of_component(chart.render("aks", chart.example_values("aks")))


@pytest.mark.parametrize("profile", ["local", "aks"])
def test_disabled_renders_nothing_and_clients_connect_directly(profile):
    objs = objects(profile, False)
    assert not of_component(objs)
    assert not any(o["kind"] == "NetworkPolicy" and "fault-proxy" in json.dumps(o["spec"]) for o in objs)
    assert config(objs)["REDIS_URL"] == "redis://ms5-redis:6379/0"
    assert config(objs)["REDIS_SENTINEL_HOSTS"] == "ms5-redis-sentinel:26379"
    for name in CLIENTS:
        assert "@ms5-postgres:5432/" in env_of(objs, name)["DATABASE_URL"], name


@pytest.mark.parametrize("profile", ["local", "aks"])
def test_enabled_renders_one_restricted_proxy_with_its_service_config_and_scrape(profile):
    objs = of_component(objects(profile, True))
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in objs)
    assert kinds == [("ConfigMap", "ms5-fault-proxy"), ("Deployment", "ms5-fault-proxy"), ("NetworkPolicy", "ms5-fault-proxy"),
                     ("Service", "ms5-fault-proxy"), ("Service", "ms5-fault-proxy-metrics"),
                     ("ServiceAccount", "ms5-fault-proxy")]
    deployment = next(o for o in objs if o["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 1
    pod = deployment["spec"]["template"]["spec"]
    (proxy,) = pod["containers"]
    assert proxy["image"].endswith("/toxiproxy:v2.5.0")
    assert "-proxy-metrics" in proxy["args"] and proxy["args"][proxy["args"].index("-host") + 1] == "0.0.0.0"
    assert pod["securityContext"]["runAsNonRoot"] and proxy["securityContext"]["readOnlyRootFilesystem"]
    assert all(p in proxy for p in ("startupProbe", "readinessProbe", "livenessProbe", "resources"))
    service = next(o for o in objs if o["kind"] == "Service" and o["metadata"]["name"] == "ms5-fault-proxy")
    assert service["spec"]["type"] == "ClusterIP"
    assert {p["port"] for p in service["spec"]["ports"]} == {5432, 6379, 8474}
    metrics = next(o for o in objs if o["metadata"]["name"] == "ms5-fault-proxy-metrics")
    assert metrics["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert metrics["spec"]["ports"] == [{"name": "metrics", "port": 8474, "targetPort": "api"}]
    proxies = json.loads(next(o for o in objs if o["kind"] == "ConfigMap")["data"]["proxies.json"])
    assert {p["name"]: p["upstream"].split(".")[0] for p in proxies} == {"postgres": "ms5-postgres", "redis": "ms5-redis"}


@pytest.mark.parametrize("profile", ["local", "aks"])
def test_enabled_every_client_goes_through_the_proxy_and_only_jobs_go_direct(profile):
    objs = objects(profile, True)
    assert config(objs)["REDIS_URL"] == "redis://ms5-fault-proxy:6379/0"
    assert "REDIS_SENTINEL_HOSTS" not in config(objs)  # nothing can discover the master's own address
    for name in CLIENTS:
        assert "@ms5-fault-proxy:5432/" in env_of(objs, name)["DATABASE_URL"], name
    migrations = next(o for o in objs if o["kind"] == "Job" and o["metadata"]["name"] == "ms5-migrations")
    env = {e["name"]: e.get("value") for e in migrations["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "@ms5-postgres:5432/" in env["DATABASE_URL"]  # a pre-upgrade hook runs before the proxy exists


def test_enabled_network_policies_admit_exactly_the_proxied_flows():
    policies = {o["metadata"]["name"]: o["spec"] for o in objects("local", True) if o["kind"] == "NetworkPolicy"}

    def peers(spec: dict, direction: str) -> set[tuple[str, int]]:
        side = "from" if direction == "ingress" else "to"
        return {(peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"], port["port"])
                for rule in spec.get(direction) or [] for peer in rule.get(side, []) if "podSelector" in peer
                for port in rule.get("ports", [])}

    assert peers(policies["ms5-fault-proxy"], "ingress") == {
        ("backend", 5432), ("celery-worker", 5432), ("backend", 6379), ("celery-worker", 6379),
        ("celery-beat", 6379), ("flower", 6379), ("prometheus", 8474)}
    assert peers(policies["ms5-fault-proxy"], "egress") == {("postgres", 5432), ("redis", 6379)}
    assert ("fault-proxy", 5432) in peers(policies["ms5-postgres"], "ingress")
    assert ("fault-proxy", 6379) in peers(policies["ms5-redis"], "ingress")
    assert ("fault-proxy", 8474) in peers(policies["ms5-prometheus"], "egress")
    for client in ("backend", "celery-worker"):
        assert {("fault-proxy", 5432), ("fault-proxy", 6379)} <= peers(policies[f"ms5-{client}"], "egress")
