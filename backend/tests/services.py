"""Real PostgreSQL 15, Redis, an S3 server (moto) and the backend's own processes, on loopback.

Shared by the test suite (conftest.py) and the latency benchmark. Every wait is bounded.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import httpx

BACKEND_DIR = Path(__file__).resolve().parents[1]
PG_BIN = Path(os.environ.get("MS5_PG_BIN", "/usr/lib/postgresql/15/bin"))
PYTHON = sys.executable
BUCKETS = ("ms5-uploads", "ms5-reports", "ms5-backups", "ms5-temp")
SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
ADMIN_PASSWORD = "admin-test-password"
REDIS_PASSWORD = "redis-test-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # not up yet
            pass
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout}s")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Process:
    """A child process whose output goes to a log file (printed when it is asked for)."""

    name: str
    argv: list[str]
    log_path: Path
    env: dict[str, str] | None = None
    cwd: Path | None = None
    run_as: "Account | None" = None
    popen: subprocess.Popen | None = None

    def start(self) -> "Process":
        log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(
            self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=self.cwd, start_new_session=True,
            **(self.run_as.popen_args() if self.run_as else {}),
        )
        log.close()
        return self

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 10) -> None:
        if not self.running:
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class Account:
    uid: int
    gid: int

    def popen_args(self) -> dict:
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def postgres_account() -> Account | None:
    """PostgreSQL refuses to run as root: as root, run it as `nobody`."""
    if os.geteuid() != 0:
        return None
    nobody = pwd.getpwnam("nobody")
    return Account(nobody.pw_uid, nobody.pw_gid)


@dataclass
class Postgres:
    workdir: Path
    port: int = field(default_factory=free_port)
    user: str = "ms5"
    database: str = "factory_telemetry"
    server: Process | None = None

    @property
    def datadir(self) -> Path:
        return self.workdir / "pgdata"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{self.user}:unused@127.0.0.1:{self.port}/{self.database}"

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def init(self) -> None:
        account = postgres_account()
        self.workdir.mkdir(parents=True, exist_ok=True)
        if account:
            os.chown(self.workdir, account.uid, account.gid)
        subprocess.run(
            [str(PG_BIN / "initdb"), "-D", str(self.datadir), "-U", self.user, "--auth=trust",
             "--encoding=UTF8", "--no-sync"],
            check=True, cwd=self.workdir, capture_output=True, timeout=120,
            **(account.popen_args() if account else {}),
        )

    def start(self) -> None:
        self.server = Process(
            "postgres",
            [str(PG_BIN / "postgres"), "-D", str(self.datadir), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.workdir}",
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=200"],
            self.workdir / "postgres.log", cwd=self.workdir, run_as=postgres_account(),
        ).start()
        wait_until(self._accepting, 30, "postgres")

    def _accepting(self) -> bool:
        return subprocess.run(
            [str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True, timeout=5
        ).returncode == 0

    def create_database(self) -> None:
        subprocess.run(
            [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, self.database],
            check=True, capture_output=True, timeout=30,
        )

    def stop(self) -> None:
        """Fast shutdown (SIGINT): what a crashed or rescheduled database pod looks like to clients."""
        if self.server and self.server.running:
            self.server.popen.send_signal(signal.SIGINT)
            self.server.popen.wait(30)


@dataclass
class Redis:
    workdir: Path
    port: int = field(default_factory=free_port)
    password: str = REDIS_PASSWORD
    server: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.server = Process(
            "redis",
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--requirepass", self.password,
             "--dir", str(self.workdir), "--appendonly", "yes", "--save", "", "--protected-mode", "yes"],
            self.workdir / "redis.log",
        ).start()
        wait_until(lambda: port_open(self.port), 15, "redis")

    def stop(self) -> None:
        if self.server:
            self.server.stop()


@dataclass
class ObjectStore:
    workdir: Path
    port: int = field(default_factory=free_port)
    access_key: str = "ms5-test-access"
    secret_key: str = "ms5-test-secret"
    server: Process | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> None:
        """Start without waiting: moto imports slowly, so it boots while PostgreSQL initialises."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.server = Process(
            "moto", [PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            self.workdir / "moto.log",
        ).start()

    def wait_ready(self) -> None:
        wait_until(lambda: httpx.get(f"{self.endpoint}/moto-api/", timeout=1).status_code < 500, 60, "moto server")

    def create_buckets(self) -> None:
        """In the cluster a Job creates the buckets; here the test setup does."""
        client = boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key, region_name="us-east-1",
        )
        for bucket in BUCKETS:
            client.create_bucket(Bucket=bucket)

    def stop(self) -> None:
        if self.server:
            self.server.stop()


@dataclass
class Stack:
    """The dependencies plus the environment every backend process gets."""

    workdir: Path
    postgres: Postgres
    redis: Redis
    object_store: ObjectStore
    processes: list[Process] = field(default_factory=list)

    @classmethod
    def start(cls, workdir: Path | None = None) -> "Stack":
        workdir = workdir or Path(tempfile.mkdtemp(prefix="ms5-stack-"))
        workdir.chmod(0o755)  # the unprivileged PostgreSQL user must reach its data directory
        stack = cls(workdir, Postgres(workdir / "pg"), Redis(workdir / "redis"), ObjectStore(workdir / "s3"))
        try:
            stack.object_store.launch()
            stack.redis.start()
            stack.postgres.init()
            stack.postgres.start()
            stack.postgres.create_database()
            stack.object_store.wait_ready()
            stack.object_store.create_buckets()
        except BaseException:
            stack.stop()
            raise
        return stack

    def env(self, **overrides: str) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("MS5_", "PYTEST"))}
        env.update(
            PYTHONUNBUFFERED="1",
            ENVIRONMENT="test",
            LOG_LEVEL="INFO",
            SECRET_KEY=SECRET_KEY,
            DATABASE_URL=self.postgres.url,
            DATABASE_POOL_SIZE="5",
            DATABASE_MAX_OVERFLOW="10",
            REDIS_URL=self.redis.url,
            REDIS_PASSWORD=self.redis.password,
            MINIO_ENDPOINT=self.object_store.endpoint,
            MINIO_ACCESS_KEY=self.object_store.access_key,
            MINIO_SECRET_KEY=self.object_store.secret_key,
            ADMIN_PASSWORD=ADMIN_PASSWORD,
            WORKER_METRICS_HOST="127.0.0.1",
            WORKER_METRICS_PORT="0",
            ALLOWED_ORIGINS="http://localhost:3000,http://tablet.local",
        )
        env.update(overrides)
        return env

    def migrate(self, **overrides: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [PYTHON, "-m", "app.migrate"], cwd=BACKEND_DIR, env=self.env(**overrides),
            capture_output=True, text=True, timeout=120,
        )

    def _spawn(self, name: str, argv: list[str], **overrides: str) -> Process:
        process = Process(name, argv, self.workdir / f"{name}.log", env=self.env(**overrides), cwd=BACKEND_DIR)
        self.processes.append(process)
        return process.start()

    def start_api(self, port: int, **overrides: str) -> Process:
        process = self._spawn(
            f"api-{port}",
            [PYTHON, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port),
             "--workers", "1", "--no-access-log"],
            **overrides,
        )
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200, 60,
                   f"api on {port}")
        return process

    def start_worker(self, metrics_port: int, **overrides: str) -> Process:
        return self._spawn(
            "worker",
            [PYTHON, "-m", "celery", "-A", "app.celery", "worker", "--loglevel=INFO", "--concurrency=2",
             "--hostname=test-worker@%h", "--without-mingle", "--without-gossip"],
            WORKER_METRICS_PORT=str(metrics_port), **overrides,
        )

    def start_celery(self, name: str, subcommand: list[str], **overrides: str) -> Process:
        """`celery -A app.celery <subcommand>`: beat and Flower, started as in their containers."""
        return self._spawn(name, [PYTHON, "-m", "celery", "-A", "app.celery", *subcommand], **overrides)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.object_store.stop()
        self.redis.stop()
        self.postgres.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
