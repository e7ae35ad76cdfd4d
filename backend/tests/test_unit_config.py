"""Settings parsing and the one-line start-up failure."""

import subprocess
import sys

import pytest
from pydantic import ValidationError

from app.core.config import Settings, describe_errors, parse_str_list

from .services import BACKEND_DIR

REQUIRED = {
    "SECRET_KEY": "k" * 32,
    "DATABASE_URL": "postgresql+asyncpg://ms5:pw@db:5432/factory_telemetry",
    "REDIS_URL": "redis://redis:6379/0",
    "MINIO_ENDPOINT": "minio:9000",
    "MINIO_ACCESS_KEY": "access",
    "MINIO_SECRET_KEY": "secret",
}


@pytest.fixture
def env(monkeypatch):
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://a.example, http://b.example", ["http://a.example", "http://b.example"]),
        ('["http://a.example", "http://b.example"]', ["http://a.example", "http://b.example"]),
        ("http://a.example", ["http://a.example"]),
        ("", []),
    ],
)
def test_allowed_origins_accepts_comma_separated_or_json(env, raw, expected):
    env.setenv("ALLOWED_ORIGINS", raw)
    assert Settings().ALLOWED_ORIGINS == expected


def test_list_parser_leaves_lists_alone():
    assert parse_str_list(["x"]) == ["x"]


def test_derived_connection_settings(env):
    env.setenv("REDIS_PASSWORD", "p@ss/word")
    settings = Settings()
    assert settings.asyncpg_dsn == "postgresql://ms5:pw@db:5432/factory_telemetry"
    assert settings.redis_url == "redis://:p%40ss%2Fword@redis:6379/0"
    assert settings.minio_endpoint_url == "http://minio:9000"


def test_redis_url_keeps_a_password_it_already_has(env):
    env.setenv("REDIS_URL", "redis://:inline@redis:6379/1")
    env.setenv("REDIS_PASSWORD", "other")
    assert Settings().redis_url == "redis://:inline@redis:6379/1"


def test_errors_are_described_in_one_line(env):
    env.delenv("SECRET_KEY")
    env.setenv("DATABASE_URL", "mysql://nope")
    with pytest.raises(ValidationError) as caught:
        Settings()
    message = describe_errors(caught.value)
    assert "\n" not in message
    assert "SECRET_KEY is required" in message
    assert "DATABASE_URL" in message


def test_short_secret_key_is_rejected(env):
    env.setenv("SECRET_KEY", "short")
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", "0"],
        [sys.executable, "-m", "celery", "-A", "app.celery", "worker"],
        [sys.executable, "-m", "app.migrate"],
    ],
    ids=["api", "worker", "migrate"],
)
def test_missing_secret_key_stops_start_up_with_one_clear_line(command):
    env = {"PATH": "/usr/bin:/bin", **{k: v for k, v in REQUIRED.items() if k != "SECRET_KEY"}}
    result = subprocess.run(command, cwd=BACKEND_DIR, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == ["configuration error: SECRET_KEY is required"]
