"""Data paths, from the backend's own pod with its own credentials: Postgres (primary and
replica), Redis, object storage; migrations recorded; TimescaleDB reported either way."""

import json
import textwrap
import uuid



def backend_python(stack, code: str, timeout: float = 60) -> dict:
    """Run Python in a backend pod (its venv, its environment) and return the JSON it prints."""
    result = stack.exec("backend", ["python", "-c", textwrap.dedent(code) if code.startswith("\n    ") else code],
                        timeout=timeout)
    assert result.exit_code == 0, f"probe failed: {result.stderr.strip()[-800:]}"
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines, "probe printed nothing"
    return json.loads(lines[-1])


def pg(body: str) -> str:
    """The shared connection helpers followed by a test's own probe code."""
    return PG + textwrap.dedent(body)


PG = """
import asyncio, json, os, urllib.parse, asyncpg
def dsn(host=None):
    url = urllib.parse.urlsplit(os.environ["DATABASE_URL"].replace("+asyncpg", ""))
    return url._replace(netloc=url.netloc.rsplit("@", 1)[0] + "@" + (host or url.hostname) + ":5432").geturl() \\
        if host else url.geturl()
"""


def test_primary_write_is_read_back_and_reaches_the_replica(stack):
    marker = f"harness-{uuid.uuid4().hex[:8]}"
    out = backend_python(stack, pg(f"""
    async def main():
        primary = await asyncpg.connect(dsn(), timeout=5)
        await primary.execute("CREATE TABLE IF NOT EXISTS harness_probe (marker text PRIMARY KEY, at timestamptz DEFAULT now())")
        await primary.execute("INSERT INTO harness_probe (marker) VALUES ($1)", "{marker}")
        read_back = await primary.fetchval("SELECT count(*) FROM harness_probe WHERE marker = $1", "{marker}")
        in_recovery = await primary.fetchval("SELECT pg_is_in_recovery()")
        replica = await asyncpg.connect(dsn("ms5-postgres-read"), timeout=5)
        seen = 0
        for _ in range(50):
            seen = await replica.fetchval("SELECT count(*) FROM harness_probe WHERE marker = $1", "{marker}")
            if seen:
                break
            await asyncio.sleep(0.2)
        replica_in_recovery = await replica.fetchval("SELECT pg_is_in_recovery()")
        print(json.dumps(dict(read_back=read_back, primary_in_recovery=in_recovery, seen=seen,
                              replica_in_recovery=replica_in_recovery)))
    asyncio.run(main())
    """))
    assert out["read_back"] == 1 and out["primary_in_recovery"] is False
    assert out["replica_in_recovery"] is True, "ms5-postgres-read answered from a primary"
    assert out["seen"] == 1, "the replica never saw the primary's write (10 s)"


def test_migrations_are_recorded(stack):
    out = backend_python(stack, pg("""
    async def main():
        conn = await asyncpg.connect(dsn(), timeout=5)
        rows = await conn.fetch("SELECT version FROM factory_telemetry.schema_migrations ORDER BY version")
        print(json.dumps([r["version"] for r in rows]))
    asyncio.run(main())
    """))
    assert out[:3] == ["0001", "0002", "0003"], out


def test_timescaledb_presence_is_reported(stack, record_property):
    out = backend_python(stack, pg("""
    async def main():
        conn = await asyncpg.connect(dsn(), timeout=5)
        ext = await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
        hyper = []
        if ext:
            hyper = [r[0] for r in await conn.fetch("SELECT hypertable_name FROM timescaledb_information.hypertables")]
        print(json.dumps(dict(version=ext, hypertables=hyper)))
    asyncio.run(main())
    """))
    record_property("timescaledb", out["version"] or "not present")
    if out["version"]:
        assert {"oee_calculations", "metric_hist"} <= set(out["hypertables"]), out
    else:
        print("TimescaleDB: not present in this image; time-series tables are plain PostgreSQL tables")


def test_redis_set_get_and_pubsub(stack):
    out = backend_python(stack, """
    import json, os, time, redis
    r = redis.Redis.from_url(os.environ["REDIS_URL"], password=os.environ.get("REDIS_PASSWORD"), socket_timeout=5)
    r.set("harness:probe", "ok", ex=60)
    sub = r.pubsub(); sub.subscribe("harness:channel")
    sub.get_message(timeout=2)
    receivers = r.publish("harness:channel", "hello")
    msg = sub.get_message(timeout=5)
    print(json.dumps(dict(value=r.get("harness:probe").decode(), receivers=receivers,
                          message=msg and msg["data"].decode())))
    """)
    assert out == {"value": "ok", "receivers": 1, "message": "hello"}


def test_upload_lands_in_object_storage(stack):
    token = stack.admin_token()
    body = f"harness upload {uuid.uuid4()}".encode()
    with stack.api() as api:
        resp = api.post("/api/v1/upload/", headers={"Authorization": f"Bearer {token}"},
                        files={"file": ("probe.txt", body, "text/plain")})
    assert resp.status_code == 201, resp.text
    info = resp.json()
    url = info["download_url"]
    out = backend_python(stack, f"""
    import json, urllib.request
    print(json.dumps(dict(body=urllib.request.urlopen({url!r}, timeout=10).read().decode())))
    """)
    assert out["body"] == body.decode()
