"""Shared settings of the ms5-* scripts: the S3 client (MinIO, the moto stand-in or an off-cluster store behind
S3_ENDPOINT) and the bounded waits for the object store and for PostgreSQL."""

import json
import os
import subprocess
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

READY_SECONDS = 120  # how long a backup or restore waits for the object store, and for PostgreSQL


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or value == "":
        fail(f"{name} is not set")
    return value


def fail(message: str, code: int = 1) -> None:
    print(json.dumps({"ok": False, "error": message}), flush=True)
    sys.exit(code)


def report(**fields) -> None:
    print(json.dumps({"ok": True, **fields}, default=str), flush=True)


def client():
    return boto3.client(
        "s3",
        endpoint_url=env("S3_ENDPOINT"),
        aws_access_key_id=env("S3_ACCESS_KEY"),
        aws_secret_access_key=env("S3_SECRET_KEY"),
        region_name=os.environ.get("S3_REGION") or "us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5, "mode": "standard"},
                      connect_timeout=5, read_timeout=60),
    )


def wait_ready(s3, seconds: float) -> None:
    """Retry ListBuckets until the object store answers or the time is up."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            s3.list_buckets()
            return
        except (BotoCoreError, ClientError) as exc:
            if time.monotonic() > deadline:
                fail(f"object store at {os.environ.get('S3_ENDPOINT')} not reachable: {exc}")
            time.sleep(3)


def wait_postgres(seconds: float) -> None:
    """Wait until pg_isready (the PG* variables) says the server accepts connections, or the time is up.

    A Job's pod is new: until the NetworkPolicy agent has added its address to the database's ingress rule, and
    while Patroni elects or restarts a primary, connections are refused. pg_dump and psql run once, after this."""
    deadline = time.monotonic() + seconds
    while True:
        probe = subprocess.run(["pg_isready", "--timeout=3"], capture_output=True, text=True)
        if probe.returncode == 0:
            return
        if probe.returncode == 3 or time.monotonic() > deadline:  # 3: bad parameters, no attempt made
            fail(f"PostgreSQL not accepting connections after {seconds:.0f}s: pg_isready exit {probe.returncode} "
                 f"{(probe.stdout + probe.stderr).strip()}")
        time.sleep(2)
