"""Latency benchmark: the API with its real dependencies under a steady open-loop load.

    .venv/bin/python backend/bench/latency.py [--rate 50] [--duration 30]

Starts PostgreSQL, Redis and the S3 server with the test suite's starters, one uvicorn
process (as in a pod), then sends requests on a fixed schedule (latency counts from the
scheduled time, so a stalled server cannot hide its queueing) and prints p50/p95/p99 and
throughput per endpoint. Not a test: figures depend on the machine.
"""

import argparse
import asyncio
import sys
import time
from collections import defaultdict
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from backend.tests.services import ADMIN_PASSWORD, Stack, free_port  # noqa: E402

# (name, share of requests)
MIX = [("GET dashboard/lines", 0.3), ("GET dashboard/summary", 0.2), ("GET oee/current", 0.2),
       ("GET oee/trends", 0.1), ("POST andon/events", 0.2)]


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def schedule(total: int) -> list[str]:
    """Deterministic interleaving that respects the MIX shares."""
    slots = [name for name, share in MIX for _ in range(round(share * 100))]
    order = [slots[(i * 37) % len(slots)] for i in range(len(slots))]  # 37 is coprime with 100: a permutation
    return [order[i % len(order)] for i in range(total)]


async def seed(client: httpx.AsyncClient) -> tuple[dict, str]:
    token = (await client.post("/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    lines = (await client.get("/api/v1/production/lines", headers=headers)).json()
    line_id = next(line["id"] for line in lines if line["line_code"] == "L-BAG1")
    for _ in range(20):
        await client.post("/api/v1/oee/calculate", headers=headers, json={"line_id": line_id})
    return headers, line_id


async def run(rate: float, duration: float, base_url: str) -> None:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=base_url, timeout=10, limits=limits) as client:
        headers, line_id = await seed(client)
        requests = {
            "GET dashboard/lines": lambda i: client.get("/api/v1/dashboard/lines", headers=headers),
            "GET dashboard/summary": lambda i: client.get("/api/v1/dashboard/summary", headers=headers),
            "GET oee/current": lambda i: client.get(f"/api/v1/oee/lines/{line_id}/current", headers=headers),
            "GET oee/trends": lambda i: client.get(f"/api/v1/oee/lines/{line_id}/trends", headers=headers),
            "POST andon/events": lambda i: client.post(
                "/api/v1/andon/events", headers={**headers, "Idempotency-Key": f"bench-{i}"},
                json={"line_id": line_id, "event_type": "stop", "priority": "low", "description": "bench"}),
        }
        latencies: dict[str, list[float]] = defaultdict(list)
        errors: dict[str, int] = defaultdict(int)

        async def one(i: int, name: str, due: float) -> None:
            try:
                response = await requests[name](i)
                ok = response.status_code < 400
            except httpx.HTTPError:
                ok = False
            latencies[name].append(time.perf_counter() - due)
            errors[name] += not ok

        total = int(rate * duration)
        start = time.perf_counter()
        tasks = []
        for i, name in enumerate(schedule(total)):
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(one(i, name, due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
        cache = (await client.get("/metrics")).text

    print(f"\n{total} requests at {rate:g} req/s target over {elapsed:.1f} s "
          f"(achieved {total / elapsed:.1f} req/s)\n")
    print(f"{'endpoint':24} {'count':>6} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>7}")
    for name, _ in MIX:
        values = sorted(latencies[name])
        print(f"{name:24} {len(values):6d} {errors[name]:6d} {percentile(values, .5) * 1000:8.1f} "
              f"{percentile(values, .95) * 1000:8.1f} {percentile(values, .99) * 1000:8.1f} "
              f"{len(values) / elapsed:7.1f}")
    hits = sum(float(line.split()[-1]) for line in cache.splitlines() if line.startswith("ms5_cache_hits_total{"))
    misses = sum(float(line.split()[-1]) for line in cache.splitlines() if line.startswith("ms5_cache_misses_total{"))
    print(f"\ndashboard cache: {hits:.0f} hits, {misses:.0f} misses (every Andon write invalidates it)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (bounded: at most 600)")
    args = parser.parse_args()
    stack = Stack.start()
    try:
        migrated = stack.migrate()
        if migrated.returncode:
            sys.exit(migrated.stderr)
        port = free_port()
        stack.start_api(port, LOG_LEVEL="WARNING")
        asyncio.run(run(args.rate, min(args.duration, 600.0), f"http://127.0.0.1:{port}"))
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
