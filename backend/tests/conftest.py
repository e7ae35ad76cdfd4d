"""Session fixtures: one real stack (PostgreSQL 15, Redis, S3), migrated, with two API
processes sharing it and one Celery worker. Tests marked `outage` stop dependencies and run last."""

import asyncio
import itertools
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

BACKEND_DIR = Path(__file__).resolve().parents[1]
sys.path.append(str(BACKEND_DIR))  # for `app`; appended so it never shadows a top-level `tests`

from .services import ADMIN_PASSWORD, Process, Stack, free_port, wait_until  # noqa: E402

TEST_OVERRIDES = {"WEBSOCKET_HEARTBEAT_INTERVAL": "1", "ANDON_ACKNOWLEDGMENT_TIMEOUT": "2"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "outage: stops and restarts a dependency; runs after every other test")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("outage") is not None)


class Backend:
    """Handles to the running stack, shared by every test."""

    def __init__(self, stack: Stack, api_ports: list[int], worker: Process, worker_metrics_port: int):
        self.stack = stack
        self.api_urls = [f"http://127.0.0.1:{port}" for port in api_ports]
        self.worker = worker
        self.worker_metrics_url = f"http://127.0.0.1:{worker_metrics_port}/metrics"
        self._names = itertools.count()

    def client(self, replica: int = 0) -> httpx.Client:
        return httpx.Client(base_url=self.api_urls[replica], timeout=15)

    def ws_url(self, replica: int, token: str) -> str:
        return self.api_urls[replica].replace("http://", "ws://") + f"/ws/?token={token}"

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{os.getpid()}-{next(self._names)}"

    def db(self, query: str, *args: object) -> list[asyncpg.Record]:
        async def run() -> list[asyncpg.Record]:
            conn = await asyncpg.connect(self.stack.postgres.dsn, timeout=5)
            try:
                await conn.execute("SET search_path = factory_telemetry, public")
                return await conn.fetch(query, *args)
            finally:
                await conn.close()

        return asyncio.run(run())


@pytest.fixture(scope="session")
def backend() -> Iterator[Backend]:
    stack = Stack.start()
    try:
        migrated = stack.migrate()
        assert migrated.returncode == 0, migrated.stderr
        os.environ.update(stack.env(**TEST_OVERRIDES))  # for the Celery client used by task tests
        worker_metrics_port = free_port()
        worker = stack.start_worker(worker_metrics_port, **TEST_OVERRIDES)
        api_ports = [free_port(), free_port()]
        for port in api_ports:
            stack.start_api(port, **TEST_OVERRIDES)
        backend = Backend(stack, api_ports, worker, worker_metrics_port)
        wait_until(lambda: httpx.get(f"{backend.api_urls[0]}/health/detailed", timeout=5).status_code == 200,
                   90, "worker answering the readiness ping")
        yield backend
    except BaseException:
        for process in stack.processes:
            print(f"--- {process.name} ---\n{process.log_tail()}", file=sys.stderr)
        raise
    finally:
        stack.stop()


def login(client: httpx.Client, username: str, password: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="session")
def admin(backend: Backend) -> dict[str, str]:
    with backend.client() as client:
        return login(client, "admin", ADMIN_PASSWORD)


class Users:
    """Creates one account per role on demand and keeps its auth headers."""

    def __init__(self, backend: Backend, admin_headers: dict[str, str]):
        self.backend = backend
        self.admin = admin_headers
        self._accounts: dict[str, tuple[dict[str, str], str]] = {}

    def create(self, role: str) -> tuple[dict[str, str], str]:
        username = self.backend.unique(role)
        with self.backend.client() as client:
            created = client.post("/api/v1/users/", headers=self.admin,
                                  json={"username": username, "password": "password-123", "role": role})
            assert created.status_code == 201, created.text
            return login(client, username, "password-123"), created.json()["id"]

    def headers(self, role: str) -> dict[str, str]:
        return self.account(role)[0]

    def account(self, role: str) -> tuple[dict[str, str], str]:
        if role not in self._accounts:
            self._accounts[role] = self.create(role)
        return self._accounts[role]


@pytest.fixture(scope="session")
def users(backend: Backend, admin: dict[str, str]) -> Users:
    return Users(backend, admin)


@pytest.fixture
def client(backend: Backend) -> Iterator[httpx.Client]:
    with backend.client() as client:
        yield client


@pytest.fixture(scope="session")
def line_id(backend: Backend, admin: dict[str, str]) -> str:
    """The seeded line L-BAG1."""
    with backend.client() as client:
        lines = client.get("/api/v1/production/lines", headers=admin).json()
    return next(line["id"] for line in lines if line["line_code"] == "L-BAG1")


@pytest.fixture
def new_line(backend: Backend, admin: dict[str, str]) -> str:
    """A fresh line, so data-dependent assertions start from nothing."""
    with backend.client() as client:
        response = client.post("/api/v1/production/lines", headers=admin,
                               json={"line_code": backend.unique("L"), "name": "Test line",
                                     "ideal_cycle_time_seconds": 2.0})
    assert response.status_code == 201, response.text
    return response.json()["id"]
