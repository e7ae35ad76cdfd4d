"""asyncpg pool for the API and single connections for tasks, both timed and bounded."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from app.core.config import Settings
from app.core.errors import DependencyUnavailable
from app.core.metrics import DB_QUERY_DURATION

SCHEMA = "factory_telemetry"


def _record_query(query: asyncpg.connection.LoggedQuery) -> None:
    DB_QUERY_DURATION.observe(query.elapsed)


async def _prepare_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    conn.add_query_logger(_record_query)


def _connect_options(settings: Settings) -> dict:
    return {
        "timeout": settings.DATABASE_TIMEOUT_SECONDS,
        "command_timeout": settings.DATABASE_COMMAND_TIMEOUT_SECONDS,
        "server_settings": {"search_path": f"{SCHEMA},public", "application_name": "ms5-backend"},
        # Only the primary: during a failover a Service (or a proxy in front of it) may still lead to
        # the old primary coming back as a replica, and a pooled connection there fails every write.
        "target_session_attrs": "read-write",
    }


async def create_pool(settings: Settings) -> asyncpg.Pool:
    """min_size=0: the API starts (and stays live) while PostgreSQL is down, and reconnects later."""
    return await asyncpg.create_pool(
        settings.asyncpg_dsn,
        min_size=0,
        max_size=settings.DATABASE_POOL_SIZE + settings.DATABASE_MAX_OVERFLOW,
        max_inactive_connection_lifetime=300,
        init=_prepare_connection,
        **_connect_options(settings),
    )


async def connect(settings: Settings) -> asyncpg.Connection:
    """One connection for a Celery task or the migration command."""
    conn = await asyncpg.connect(settings.asyncpg_dsn, **_connect_options(settings))
    await _prepare_connection(conn)
    return conn


@asynccontextmanager
async def acquire(pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    """Yield a pooled connection; an unreachable database becomes DependencyUnavailable."""
    try:
        conn = await pool.acquire(timeout=settings.DATABASE_TIMEOUT_SECONDS)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError,
            asyncpg.exceptions.TargetServerAttributeNotMatched) as error:
        raise DependencyUnavailable("database") from error
    try:
        yield conn
    except asyncpg.exceptions.ReadOnlySQLTransactionError as error:
        conn.terminate()  # its server was demoted under it: the pool must not hand it out again
        raise DependencyUnavailable("database") from error
    finally:
        await pool.release(conn)


async def insert_once(conn: asyncpg.Connection, table: str, values: dict) -> tuple[asyncpg.Record, bool]:
    """Insert a row unless its client_ref exists; return (row, created).

    A retried request carrying the same key gets the original row back, never a duplicate.
    `table` and the column names come from code, never from a request.
    """
    columns = ", ".join(values)
    placeholders = ", ".join(f"${index}" for index in range(1, len(values) + 1))
    row = await conn.fetchrow(
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT (client_ref) DO NOTHING RETURNING *",
        *values.values(),
    )
    if row is not None:
        return row, True
    return await conn.fetchrow(f"SELECT * FROM {table} WHERE client_ref = $1", values["client_ref"]), False
