"""Settings from the environment (names follow the original MS5.0 compose files)."""

import json
import sys
from functools import lru_cache
from typing import Annotated, Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

StrList = Annotated[list[str], NoDecode]


def parse_str_list(value: object) -> object:
    """Accept a JSON list or a comma-separated string, as the original .env files used both."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        return json.loads(text)
    return [item.strip() for item in text.split(",") if item.strip()]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore")

    ENVIRONMENT: str = "production"
    DEBUG: bool = False
    LOG_LEVEL: str = "INFO"

    SECRET_KEY: SecretStr = Field(min_length=32)
    ALGORITHM: Literal["HS256", "HS384", "HS512"] = "HS256"
    ACCESS_TOKEN_EXPIRE_MINUTES: int = Field(30, gt=0)
    REFRESH_TOKEN_EXPIRE_DAYS: int = Field(7, gt=0)
    ALLOWED_ORIGINS: StrList = []
    ALLOWED_HOSTS: StrList = ["*"]

    DATABASE_URL: str
    DATABASE_POOL_SIZE: int = Field(10, gt=0)
    DATABASE_MAX_OVERFLOW: int = Field(20, ge=0)
    DATABASE_TIMEOUT_SECONDS: float = Field(2.0, gt=0)
    DATABASE_COMMAND_TIMEOUT_SECONDS: float = Field(10.0, gt=0)

    REDIS_URL: str
    REDIS_PASSWORD: SecretStr | None = None
    REDIS_TIMEOUT_SECONDS: float = Field(1.0, gt=0)

    MINIO_ENDPOINT: str
    MINIO_ACCESS_KEY: SecretStr
    MINIO_SECRET_KEY: SecretStr
    MINIO_REGION: str = "us-east-1"
    MINIO_BUCKET_UPLOADS: str = "ms5-uploads"
    MINIO_BUCKET_REPORTS: str = "ms5-reports"
    MINIO_BUCKET_BACKUPS: str = "ms5-backups"
    MINIO_BUCKET_TEMP: str = "ms5-temp"
    PRESIGNED_URL_EXPIRE_SECONDS: int = Field(3600, gt=0)
    UPLOAD_MAX_BYTES: int = Field(10 * 1024 * 1024, gt=0)

    WEBSOCKET_HEARTBEAT_INTERVAL: float = Field(30.0, gt=0)
    WEBSOCKET_MAX_CONNECTIONS: int = Field(1000, gt=0)
    DASHBOARD_CACHE_TTL_SECONDS: int = Field(300, gt=0)
    HEALTH_CHECK_TIMEOUT_SECONDS: float = Field(2.0, gt=0)
    # A Celery ping is ~20 broker round trips (connect, declare, publish, reply): 2.1-3.2 s at 100 ms of
    # Redis latency, where a 1.2 s budget made every replica unready and the API answered 502.
    HEALTH_CHECK_CELERY_TIMEOUT_SECONDS: float = Field(6.0, gt=0)

    OEE_CALCULATION_INTERVAL: int = Field(60, gt=0)
    ANDON_ACKNOWLEDGMENT_TIMEOUT: int = Field(300, gt=0)
    ANDON_RESOLUTION_TIMEOUT: int = Field(1800, gt=0)
    TIMESCALEDB_CHUNK_TIME_INTERVAL: str = "1 day"
    TIMESCALEDB_RETENTION_POLICY: str = "90 days"

    WORKER_METRICS_HOST: str = "0.0.0.0"
    WORKER_METRICS_PORT: int = Field(9808, ge=0)

    ADMIN_USERNAME: str = "admin"
    ADMIN_EMAIL: str = "admin@ms5.local"
    ADMIN_PASSWORD: SecretStr | None = None

    _split_lists = field_validator("ALLOWED_ORIGINS", "ALLOWED_HOSTS", mode="before")(parse_str_list)

    @field_validator("DATABASE_URL")
    @classmethod
    def _postgres_url(cls, value: str) -> str:
        if not value.startswith(("postgresql+asyncpg://", "postgresql://", "postgres://")):
            raise ValueError("must be a postgresql+asyncpg:// URL")
        return value

    @property
    def asyncpg_dsn(self) -> str:
        """asyncpg takes plain libpq URLs; the SQLAlchemy-style driver suffix is dropped."""
        return self.DATABASE_URL.replace("postgresql+asyncpg://", "postgresql://", 1)

    @property
    def redis_url(self) -> str:
        """REDIS_URL with REDIS_PASSWORD filled in, for clients (Celery) that only take a URL."""
        if self.REDIS_PASSWORD is None:
            return self.REDIS_URL
        parts = urlsplit(self.REDIS_URL)
        if parts.password:
            return self.REDIS_URL
        host = parts.netloc.rsplit("@", 1)[-1]
        user = quote(parts.username or "", safe="")
        password = quote(self.REDIS_PASSWORD.get_secret_value(), safe="")
        return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))

    @property
    def minio_endpoint_url(self) -> str:
        """MINIO_ENDPOINT may be host:port (MinIO style) or a full URL."""
        if "://" in self.MINIO_ENDPOINT:
            return self.MINIO_ENDPOINT
        return f"http://{self.MINIO_ENDPOINT}"


def describe_errors(error: ValidationError) -> str:
    """One line naming every bad setting, for operators reading pod logs."""
    problems = []
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"])
        reason = "is required" if item["type"] == "missing" else item["msg"]
        problems.append(f"{name} {reason}")
    return "configuration error: " + "; ".join(problems)


@lru_cache
def get_settings() -> Settings:
    """Load settings once; a bad environment ends the process with one clear line."""
    try:
        return Settings()
    except ValidationError as error:
        sys.exit(describe_errors(error))
