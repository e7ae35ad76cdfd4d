"""A partition removes exactly the source's peers from ingress rules, and never widens a rule."""

from ms5harness.chaos.networkpolicies.actions import selects, without_peer


def peer(component: str, **extra) -> dict:
    return {"podSelector": {"matchLabels": {"app.kubernetes.io/component": component}}, **extra}


def test_the_rule_admitting_only_the_source_goes():
    rules = [{"from": [peer("backend")], "ports": [{"port": 6379}]}, {"from": [peer("celery-worker")]}]
    assert without_peer(rules, "backend") == [{"from": [peer("celery-worker")]}]


def test_a_shared_rule_keeps_its_other_peers():
    rules = [{"from": [peer("backend"), peer("flower")], "ports": [{"port": 6379}]}]
    assert without_peer(rules, "backend") == [{"from": [peer("flower")], "ports": [{"port": 6379}]}]


def test_rules_without_peers_are_left_alone():
    rules = [{"ports": [{"port": 8080}]}]
    assert without_peer(rules, "backend") == rules


def test_a_peer_in_another_namespace_is_not_the_source():
    other_ns = peer("backend", namespaceSelector={"matchLabels": {"team": "x"}})
    assert not selects(other_ns, "backend")
    assert without_peer([{"from": [other_ns]}], "backend") == [{"from": [other_ns]}]


def test_removing_the_last_peer_never_leaves_an_empty_from():
    narrowed = without_peer([{"from": [peer("backend")], "ports": [{"port": 5432}]}], "backend")
    assert narrowed == []  # an empty `from` would admit every pod


def test_through_the_fault_proxy_only_the_rules_for_the_destinations_port_are_narrowed():
    rules = [{"from": [peer("backend")], "ports": [{"protocol": "TCP", "port": 5432}]},
             {"from": [peer("celery-worker")], "ports": [{"protocol": "TCP", "port": 5432}]},
             {"from": [peer("backend")], "ports": [{"protocol": "TCP", "port": 6379}]},
             {"from": [peer("prometheus")], "ports": [{"protocol": "TCP", "port": 8474}]}]
    assert without_peer(rules, "backend", {5432}) == rules[1:]  # Redis through the proxy stays open
    assert without_peer(rules, "backend", {6379}) == [rules[0], rules[1], rules[3]]
