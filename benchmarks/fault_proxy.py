"""What the backend does under each toxic of the latency experiments, measured on loopback.

Real PostgreSQL 15, Redis and the S3 stand-in (backend/tests/services.py), one uvicorn API whose
DATABASE_URL and REDIS_URL point at the pinned toxiproxy-server (`ms5harness cluster build`), as the
chart's faultProxy does. A floor terminal logs in, raises an Andon event, reads it back and reads the
dashboard summary every second; per toxic phase the script prints the requests' p50, p95, slowest and
failures. It prints figures and asserts nothing; the experiments' bounds (experiments/db-latency.json,
redis-latency.json) are derived from them. Run with the backend's venv:

    backend/.venv/bin/python benchmarks/fault_proxy.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "backend")]

from backend.tests.services import ADMIN_PASSWORD, Stack, free_port, wait_until  # noqa: E402

PHASES = {  # (proxy, toxic) as the experiments inject them
    "db-latency": [("postgres", {"type": "latency", "stream": "downstream", "attributes": {"latency": 200, "jitter": 50}}),
                   ("postgres", {"type": "timeout", "stream": "upstream", "attributes": {"timeout": 0}}),
                   ("postgres", {"type": "reset_peer", "stream": "upstream", "attributes": {"timeout": 0}})],
    "redis-latency": [("redis", {"type": "latency", "stream": "downstream", "attributes": {"latency": 100, "jitter": 25}}),
                      ("redis", {"type": "timeout", "stream": "upstream", "attributes": {"timeout": 0}}),
                      ("redis", {"type": "reset_peer", "stream": "upstream", "attributes": {"timeout": 0}})],
}


def toxiproxy_binary() -> Path:
    from ms5harness.cluster import build
    component = build.component("toxiproxy")
    if not build.is_built(component):
        sys.exit("toxiproxy-server is not built: run `ms5harness cluster build`")
    return build.bin_dir(component) / "toxiproxy-server"


def floor(api: httpx.Client, seconds: float) -> dict:
    timings: list[tuple[float, int | None]] = []

    def call(method: str, path: str, **kw) -> httpx.Response | None:
        started = time.monotonic()
        try:
            response = api.request(method, path, **kw)
        except httpx.HTTPError:
            timings.append((time.monotonic() - started, None))
            return None
        timings.append((time.monotonic() - started, response.status_code))
        return response

    auth = None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        cycle = time.monotonic()
        if auth is None:
            login = call("POST", "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
            lines = None
            if login is not None and login.status_code == 200:
                headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
                lines = call("GET", "/api/v1/production/lines", headers=headers)
            if lines is not None and lines.status_code == 200 and lines.json():
                auth, line_id = headers, lines.json()[0]["id"]
        if auth is not None:
            ref = f"bench-{uuid.uuid4()}"
            created = call("POST", "/api/v1/andon/events", headers=auth, json={
                "line_id": line_id, "event_type": "stop", "priority": "low", "description": "bench", "client_ref": ref})
            if created is not None and created.status_code == 201:
                call("GET", f"/api/v1/andon/events/by-ref/{ref}", headers=auth)
            call("GET", "/api/v1/dashboard/summary", headers=auth)
        time.sleep(max(0.0, 1 - (time.monotonic() - cycle)))
    ordered = sorted(t for t, _ in timings)
    rank = lambda q: round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 3) if ordered else None  # noqa: E731
    statuses: dict[str, int] = {}
    for _, status in timings:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {"requests": len(timings), "p50": rank(0.5), "p95": rank(0.95), "slowest": rank(1.0), "statuses": statuses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="length of each phase")
    args = parser.parse_args()
    binary = toxiproxy_binary()
    stack = Stack.start()
    try:
        run(stack, args.seconds, binary)
    finally:
        stack.stop()


def run(stack: Stack, seconds: float, binary: Path) -> None:
    proxy_port, pg_port, redis_port, api_port = free_port(), free_port(), free_port(), free_port()
    pg_upstream = stack.postgres.url.rsplit("@", 1)[1].split("/")[0]
    redis_upstream = stack.redis.url.split("//", 1)[1].split("/")[0].rsplit("@", 1)[-1]
    config = stack.workdir / "proxies.json"
    config.write_text(json.dumps([
        {"name": "postgres", "listen": f"127.0.0.1:{pg_port}", "upstream": pg_upstream, "enabled": True},
        {"name": "redis", "listen": f"127.0.0.1:{redis_port}", "upstream": redis_upstream, "enabled": True}]))
    server = subprocess.Popen([str(binary), "-host", "127.0.0.1", "-port", str(proxy_port),
                               "-config", str(config), "-proxy-metrics"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env={"LOG_LEVEL": "warn"})
    toxiproxy = httpx.Client(base_url=f"http://127.0.0.1:{proxy_port}", timeout=5)
    try:
        wait_until(lambda: toxiproxy.get("/version").status_code == 200, 10, "toxiproxy")
        migrated = stack.migrate()
        assert migrated.returncode == 0, migrated.stderr
        proxied = {"DATABASE_URL": stack.postgres.url.replace(pg_upstream, f"127.0.0.1:{pg_port}"),
                   "REDIS_URL": stack.redis.url.replace(redis_upstream, f"127.0.0.1:{redis_port}")}
        stack.start_worker(free_port(), **proxied)  # /health/detailed wants a worker to answer
        stack.start_api(api_port, **proxied)
        with httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=30) as api:
            print(f"no toxic: {floor(api, seconds)}", flush=True)
            for experiment, phases in PHASES.items():
                for proxy, toxic in phases:
                    toxic = {**toxic, "name": "bench", "toxicity": 1.0}
                    toxiproxy.post(f"/proxies/{proxy}/toxics", json=toxic).raise_for_status()
                    figures = floor(api, seconds)
                    toxiproxy.delete(f"/proxies/{proxy}/toxics/bench").raise_for_status()
                    print(f"{experiment} {toxic['type']} {toxic['attributes']}: {figures}", flush=True)
                    healed = time.monotonic()
                    wait_until(lambda: api.get("/health/detailed").status_code == 200, 60, "API ready", 0.2)
                    print(f"  ready {time.monotonic() - healed:.1f} s after the toxic was removed", flush=True)
        print(f"proxy metrics: {[ln for ln in toxiproxy.get('/metrics').text.splitlines() if ln.startswith('toxi')]}")
    finally:
        toxiproxy.close()
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
