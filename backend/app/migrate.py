"""Apply the versioned SQL migrations and seed the admin user: `python -m app.migrate`.

Safe to run from several pods at once: a PostgreSQL advisory lock serialises the
runs, and each migration is applied in its own transaction and recorded with a checksum.
"""

import asyncio
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from app.core.config import Settings, get_settings
from app.core.security import Role, hash_password
from app.db import SCHEMA, connect

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
LOCK_KEY = 0x4D5350  # "MSP": one advisory lock id for every migration run
LOCK_WAIT = "5min"


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        version, _, name = path.stem.partition("_")
        migrations.append(Migration(version, name, path.read_text()))
    return migrations


async def apply_migrations(conn: asyncpg.Connection, settings: Settings) -> list[str]:
    """Apply pending migrations (the caller holds the advisory lock); return the versions applied."""
    await conn.execute("SELECT set_config('ms5.chunk_time_interval', $1, false)",
                       settings.TIMESCALEDB_CHUNK_TIME_INTERVAL)
    await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    await conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_migrations (
                version text PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())"""
    )
    applied = dict(await conn.fetch(f"SELECT version, checksum FROM {SCHEMA}.schema_migrations"))
    done = []
    for migration in load_migrations():
        if migration.version in applied:
            if applied[migration.version] != migration.checksum:
                raise RuntimeError(f"migration {migration.version} changed after it was applied")
            continue
        async with conn.transaction():
            await conn.execute(migration.sql)
            await conn.execute(
                f"INSERT INTO {SCHEMA}.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                migration.version, migration.name, migration.checksum,
            )
        done.append(migration.version)
    return done


async def seed_admin(conn: asyncpg.Connection, settings: Settings) -> bool:
    """Create the admin once; later runs leave an existing account (and its password) alone."""
    assert settings.ADMIN_PASSWORD is not None
    status = await conn.execute(
        """INSERT INTO users (username, email, password_hash, role) VALUES ($1, $2, $3, $4)
           ON CONFLICT (username) DO NOTHING""",
        settings.ADMIN_USERNAME, settings.ADMIN_EMAIL,
        hash_password(settings.ADMIN_PASSWORD.get_secret_value()), Role.ADMIN.value,
    )
    return status.endswith(" 1")


async def run(settings: Settings) -> str:
    conn = await connect(settings)
    try:
        # One lock around schema and seed: concurrent runs (several pods) see one
        # consistent outcome, and exactly one of them creates the admin.
        await conn.execute(f"SET lock_timeout = '{LOCK_WAIT}'")
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        try:
            applied = await apply_migrations(conn, settings)
            created = await seed_admin(conn, settings)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
    finally:
        await conn.close()
    summary = f"applied {', '.join(applied)}" if applied else "schema up to date"
    return f"migrate: {summary}; admin user {'created' if created else 'present'}"


def main() -> None:
    settings = get_settings()
    if settings.ADMIN_PASSWORD is None:
        sys.exit("configuration error: ADMIN_PASSWORD is required to seed the admin user")
    try:
        print(asyncio.run(run(settings)))
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, RuntimeError) as error:
        sys.exit(f"migrate failed: {type(error).__name__}: {error}")


if __name__ == "__main__":
    main()
