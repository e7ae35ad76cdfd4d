"""Toxics on the fault proxy: the undo is in the ledger before Toxiproxy holds the toxic, a bad toxic is
refused before anything is recorded, the undo tolerates a toxic or pod already gone; and the parsing the
probes depend on (Toxiproxy's /metrics, the upstreams' connection lists, the floor's bounds)."""

from __future__ import annotations

import json
from contextlib import contextmanager

import httpx
import pytest
from kubernetes import client

from ms5harness.chaos import ledger, session
from ms5harness.chaos.api.probes import Timing, breaches, timing_figures
from ms5harness.chaos.toxics import actions, probes
from ms5harness.chaos.toxics import proxy as fault_proxy

POD = "ms5-fault-proxy-7d9c-x2x"


class FakeCore:
    """The ledger's ConfigMap and the pods, recording every call in the shared event list."""

    def __init__(self, events: list, pods: set[str]):
        self.events, self.pods, self.data = events, pods, {}

    def patch_namespaced_config_map(self, name, namespace, body):
        self.events.append(("ledger", {k: json.loads(v) for k, v in body["data"].items() if v is not None}))
        self.data.update(body["data"])

    def read_namespaced_pod(self, name, namespace):
        if name not in self.pods:
            raise client.ApiException(status=404)
        return object()


class FakeKube:
    def __init__(self, events: list, pods: set[str]):
        self.core = FakeCore(events, pods)


@pytest.fixture
def proxy_api(monkeypatch):
    """A fake Toxiproxy API behind httpx.MockTransport; answers with `status` and records each request."""
    events: list = []
    state = {"status": 200}

    def handler(request: httpx.Request) -> httpx.Response:
        events.append(("http", request.method, request.url.path, json.loads(request.content or b"null")))
        return httpx.Response(state["status"], json={})

    @contextmanager
    def api(kube, namespace, pod):
        with httpx.Client(base_url="http://toxiproxy", transport=httpx.MockTransport(handler)) as c:
            yield c

    kube = FakeKube(events, {POD})
    monkeypatch.setattr(session, "kube", lambda configuration=None: kube)
    monkeypatch.setattr(fault_proxy, "api", api)
    monkeypatch.setattr(fault_proxy, "pods", lambda kube, namespace: [POD])
    return events, state, kube


def test_the_undo_is_recorded_before_the_toxic_is_added(proxy_api):
    events, _, _ = proxy_api
    added = actions.add_toxic("postgres", "latency", {"latency": 200, "jitter": 50}, stream="downstream")
    assert [e[0] for e in events] == ["ledger", "http"]
    (record,) = events[0][1].values()
    assert record["undo"] == "ms5harness.chaos.toxics.actions.remove_toxic"
    assert record["args"] == {"pod": POD, "proxy": "postgres", "name": "ms5h-latency-downstream"}
    assert events[1][:3] == ("http", "POST", "/proxies/postgres/toxics")
    assert events[1][3] == {"name": "ms5h-latency-downstream", "type": "latency", "stream": "downstream",
                            "toxicity": 1.0, "attributes": {"latency": 200, "jitter": 50}}
    assert added["pods"] == [POD] and added["proxy"] == "postgres"


def test_a_toxic_the_proxy_refuses_fails_and_stays_recorded_for_the_rollback(proxy_api):
    events, state, kube = proxy_api
    state["status"] = 409  # "toxic already exists"
    with pytest.raises(session.ActivityFailed, match="HTTP 409"):
        actions.add_toxic("redis", "timeout", {"timeout": 0}, stream="upstream")
    assert [e[0] for e in events] == ["ledger", "http"] and kube.core.data  # rollback will delete it


@pytest.mark.parametrize("bad", [dict(proxy="mysql", type="latency"), dict(proxy="postgres", type="lag"),
                                 dict(proxy="postgres", type="latency", stream="sideways"),
                                 dict(proxy="postgres", type="latency", toxicity=0)])
def test_a_bad_toxic_is_refused_before_anything_is_recorded_or_sent(proxy_api, bad):
    events, _, _ = proxy_api
    with pytest.raises(session.ActivityFailed):
        actions.add_toxic(**bad)
    assert events == []


def test_the_undo_deletes_the_toxic_and_accepts_one_already_gone(proxy_api):
    events, state, kube = proxy_api
    actions.remove_toxic(kube, "ms5", POD, "postgres", "ms5h-latency-downstream")
    assert events[-1][:3] == ("http", "DELETE", "/proxies/postgres/toxics/ms5h-latency-downstream")
    state["status"] = 404
    actions.remove_toxic(kube, "ms5", POD, "postgres", "ms5h-latency-downstream")
    state["status"] = 500
    with pytest.raises(httpx.HTTPStatusError):  # stays in the ledger; the next rollback tries again
        actions.remove_toxic(kube, "ms5", POD, "postgres", "ms5h-latency-downstream")


def test_the_undo_of_a_pod_that_is_gone_has_nothing_to_do(proxy_api):
    events, _, kube = proxy_api
    actions.remove_toxic(kube, "ms5", "ms5-fault-proxy-old", "postgres", "x")
    assert events == []


def test_rollback_replays_the_toxics_undo(proxy_api, monkeypatch):
    events, _, kube = proxy_api
    actions.add_toxic("postgres", "reset_peer", {"timeout": 0}, stream="upstream")
    monkeypatch.setattr(ledger, "pending", lambda k, ns: [(key, json.loads(v)) for key, v in sorted(kube.core.data.items())
                                                           if v is not None])
    assert ledger.undo_everything(kube, "ms5") == [f"toxic ms5h-reset_peer-upstream removed from {POD} proxy postgres"]
    assert events[-2][:3] == ("http", "DELETE", "/proxies/postgres/toxics/ms5h-reset_peer-upstream")


METRICS = """# HELP toxiproxy_proxy_received_bytes_total
# TYPE toxiproxy_proxy_received_bytes_total counter
toxiproxy_proxy_received_bytes_total{direction="downstream",listener="0.0.0.0:5432",proxy="postgres",upstream="ms5-postgres.ms5.svc.cluster.local:5432"} 45467
toxiproxy_proxy_received_bytes_total{direction="upstream",listener="0.0.0.0:5432",proxy="postgres",upstream="ms5-postgres.ms5.svc.cluster.local:5432"} 35269
toxiproxy_proxy_received_bytes_total{direction="upstream",listener="0.0.0.0:6379",proxy="redis",upstream="ms5-redis.ms5.svc.cluster.local:6379"} 203722
toxiproxy_proxy_sent_bytes_total{direction="downstream",listener="0.0.0.0:5432",proxy="postgres",upstream="ms5-postgres.ms5.svc.cluster.local:5432"} 1e+03
go_goroutines 12
"""


def test_bytes_moved_sums_one_proxys_counters():
    assert fault_proxy.bytes_moved(METRICS, "postgres") == 45467 + 35269 + 1000
    assert fault_proxy.bytes_moved(METRICS, "redis") == 203722
    assert fault_proxy.bytes_moved("", "redis") == 0


def test_connection_addresses_of_postgres_and_redis():
    assert probes.addresses("10.244.0.31\n10.244.0.31\n\n10.244.0.12\n", "postgres") == ["10.244.0.31", "10.244.0.31", "10.244.0.12"]
    listing = ("id=3 addr=10.244.0.31:40522 laddr=10.244.0.9:6379 fd=8 name= age=12 flags=N db=0 cmd=get\n"
               "id=4 addr=127.0.0.1:51000 laddr=127.0.0.1:6379 fd=9 name= flags=N cmd=client|list\n")
    assert probes.addresses(listing, "redis") == ["10.244.0.31", "127.0.0.1"]


def test_the_floors_figures_and_bounds():
    timings = [Timing(0.2, 200)] * 18 + [Timing(0.9, 201), Timing(10.0, 503)]
    figures = {**timing_figures(timings), "server_p95": 0.8}
    assert figures["requests"] == 20 and figures["failures"] == 1 and figures["answered_503"] == 1
    assert figures["p95"] == 0.9 and figures["slowest"] == 10.0 and figures["unanswered"] == 0
    assert breaches(figures, p95_below=1.5, slowest_below=11.5, unanswered_at_most=0, failure_ratio_at_most=0.05) == []
    broken = breaches({**figures, "server_p95": None}, 0.5, 3, 0, 0.01)
    assert [b.split()[0] for b in broken] == ["p95", "server_p95", "slowest", "failure"]
    hung = timing_figures([Timing(30.0, None), Timing(0.1, 200)])
    assert breaches(hung, None, None, 0, None) == ["1 requests got no answer (at most 0)"]
    assert breaches(timing_figures([]), None, None, 0, None) == ["no request was made"]


def test_growth_needs_a_first_reading(monkeypatch, proxy_api):
    monkeypatch.setattr(probes, "read_bytes", lambda kube, namespace, proxy: 100)
    monkeypatch.setattr(probes, "_first_reading", {})
    with pytest.raises(session.ActivityFailed, match="no earlier"):
        probes.proxy_bytes_grew("postgres")
    assert probes.proxy_bytes("postgres") == 100
    with pytest.raises(session.ActivityFailed, match="grew by 0 bytes"):
        probes.proxy_bytes_grew("postgres")
    monkeypatch.setattr(probes, "read_bytes", lambda kube, namespace, proxy: 4196)
    assert probes.proxy_bytes("postgres") == 4196  # a later reading does not move the baseline
    assert probes.proxy_bytes_grew("postgres") == 4096
