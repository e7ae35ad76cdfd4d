"""The API's pool only keeps connections to the primary (target_session_attrs=read-write)."""

import asyncio
import uuid

import asyncpg
import pytest

from app import db
from app.core.config import get_settings
from app.core.errors import DependencyUnavailable


def test_a_server_that_only_reads_is_refused_as_unavailable(backend):
    """A role whose sessions are read-only stands in for a replica (or an old primary come back as
    one): acquiring a connection to it is a dependency outage (503), never a pooled read-only connection."""
    role, password = f"ro_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    backend.db(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    backend.db(f"ALTER ROLE {role} SET default_transaction_read_only = on")
    primary = backend.stack.postgres.dsn
    replica_like = primary.replace(primary.split("://", 1)[1].split("@", 1)[0], f"{role}:{password}", 1)
    settings = get_settings()

    async def acquire_from(dsn: str) -> None:
        pool = await asyncpg.create_pool(dsn, min_size=0, max_size=1, **db._connect_options(settings))
        try:
            async with db.acquire(pool, settings) as conn:
                assert await conn.fetchval("SELECT 1") == 1
        finally:
            await pool.close()

    asyncio.run(acquire_from(primary))
    with pytest.raises(DependencyUnavailable):
        asyncio.run(acquire_from(replica_like))
