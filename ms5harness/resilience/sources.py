"""The real sources of an experiment's timeline, read while it runs or right after: AlertManager's
alerts, the entry point's access log, the namespace's events."""

from __future__ import annotations

import re
import threading
import time
from datetime import datetime

import httpx

from ms5harness.slo import Sample

ALERT_POLL_SECONDS = 5
ALERT_REQUEST_TIMEOUT_SECONDS = 4
LOG_REQUEST_TIMEOUT_SECONDS = 30
# nginx's log_format main (manifests/helm/ms5-dashboard/templates/nginx/configmap.yaml)
# (its t=$msec is the end of the request to the millisecond; $time_local has whole seconds only)
ACCESS_LINE = re.compile(r'\[(?P<time>[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>\S+)[^"]*" (?P<status>\d{3}) .* '
                         r'rt=(?P<rt>[\d.]+)(?: urt=\S+ t=(?P<msec>[\d.]+))?')
NOT_FLOOR_TRAFFIC = re.compile(r"^/(health|metrics|nginx-health|healthz)")


class AlertWatcher:
    """Polls AlertManager's API every few seconds in the background: when each alert started firing
    (startsAt, as Prometheus sent it) and when AlertManager stopped listing it (resolved)."""

    def __init__(self, alertmanager_url: str):
        self.url = alertmanager_url.rstrip("/")
        self.seen: dict[str, dict] = {}
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="alert-watcher", daemon=True)

    def __enter__(self) -> AlertWatcher:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(timeout=ALERT_POLL_SECONDS + ALERT_REQUEST_TIMEOUT_SECONDS)

    def _loop(self) -> None:
        with httpx.Client(timeout=ALERT_REQUEST_TIMEOUT_SECONDS) as api:
            while not self._stop.is_set():
                try:
                    self.observe(api.get(f"{self.url}/api/v2/alerts", params={"active": "true"}).json(), time.time())
                except (httpx.HTTPError, ValueError):
                    self.errors += 1
                self._stop.wait(ALERT_POLL_SECONDS)

    def observe(self, listed: list[dict], now: float) -> None:
        """One poll's answer: new alerts recorded, those no longer listed resolved at `now`."""
        current = set()
        for alert in listed:
            if (alert.get("status") or {}).get("state") != "active":
                continue
            key = alert["fingerprint"]
            current.add(key)
            if key not in self.seen:
                labels = alert.get("labels") or {}
                self.seen[key] = {"name": labels.get("alertname", "?"), "severity": labels.get("severity", ""),
                                  "starts_at": datetime.fromisoformat(alert["startsAt"].replace("Z", "+00:00")).timestamp(),
                                  "resolved_at": None, "labels": labels}
            self.seen[key]["resolved_at"] = None
        for key, alert in self.seen.items():
            if key not in current and alert["resolved_at"] is None:
                alert["resolved_at"] = now

    def alerts(self) -> list[dict]:
        return sorted(self.seen.values(), key=lambda a: a["starts_at"])


def access_samples(log_text: str) -> tuple[list[Sample], int]:
    """The floor's requests in an nginx access log (health checks and scrapes left out), and how
    many lines could not be read (another log format: the entry point is then not measured)."""
    samples, unreadable = [], 0
    for line in log_text.splitlines():
        match = ACCESS_LINE.search(line)
        if match is None:
            unreadable += bool(line.strip())
            continue
        if NOT_FLOOR_TRAFFIC.match(match["path"]):
            continue
        ended = float(match["msec"]) if match["msec"] else \
            datetime.strptime(match["time"], "%d/%b/%Y:%H:%M:%S %z").timestamp()
        seconds = float(match["rt"])
        samples.append(Sample(ended - seconds, seconds, int(match["status"]) >= 500))
    return samples, unreadable


def entry_point_samples(kube, namespace: str, selector: str, since: float) -> tuple[list[Sample], str]:
    """Every nginx pod's access log since `since`: the requests, and why they are missing if they are."""
    samples: list[Sample] = []
    seconds = max(1, int(time.time() - since) + 1)
    unreadable = 0
    for pod in kube.core.list_namespaced_pod(namespace, label_selector=selector).items:
        text = kube.core.read_namespaced_pod_log(pod.metadata.name, namespace, container=pod.spec.containers[0].name,
                                                 since_seconds=seconds, _request_timeout=LOG_REQUEST_TIMEOUT_SECONDS)
        found, bad = access_samples(text)
        samples += found
        unreadable += bad
    if not samples:
        return [], f"no floor request in the entry point's log ({unreadable} lines in another format)"
    return samples, ""


def namespace_events(kube, namespace: str, since: float) -> list[dict]:
    """The namespace's events since `since`, oldest first: what Kubernetes did about the fault."""
    out = []
    for event in kube.core.list_namespaced_event(namespace).items:
        moment = event.last_timestamp or event.event_time or event.first_timestamp
        at = moment.timestamp() if moment else None
        if at is None or at < since:
            continue
        obj = event.involved_object
        out.append({"time": at, "type": event.type, "reason": event.reason, "object": f"{obj.kind}/{obj.name}",
                    "message": (event.message or "").strip(), "count": event.count or 1})
    return sorted(out, key=lambda e: e["time"])
