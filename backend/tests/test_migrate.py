"""`python -m app.migrate`: versioned, recorded, idempotent, safe to run from several pods at once."""

import subprocess

from app.migrate import load_migrations

from .services import BACKEND_DIR, PG_BIN, PYTHON


def test_migrations_are_numbered_in_order():
    versions = [migration.version for migration in load_migrations()]
    assert versions == sorted(versions) and len(set(versions)) == len(versions) >= 3


def test_concurrent_runs_apply_each_migration_once(backend):
    pg = backend.stack.postgres
    database = backend.unique("migrate").replace("-", "_")
    subprocess.run([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(pg.port), "-U", pg.user, database],
                   check=True, timeout=30)
    env = backend.stack.env(DATABASE_URL=f"postgresql+asyncpg://{pg.user}@127.0.0.1:{pg.port}/{database}")
    runs = [subprocess.Popen([PYTHON, "-m", "app.migrate"], cwd=BACKEND_DIR, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs
    summaries = sorted(out.strip() for out, _ in outputs)
    assert summaries == ["migrate: applied 0001, 0002, 0003; admin user created",
                         "migrate: schema up to date; admin user present",
                         "migrate: schema up to date; admin user present"]
    rerun = subprocess.run([PYTHON, "-m", "app.migrate"], cwd=BACKEND_DIR, env=env, capture_output=True, text=True,
                           timeout=120)
    assert rerun.stdout.strip() == "migrate: schema up to date; admin user present"


def test_migration_records_and_seed(backend):
    recorded = backend.db("SELECT version, checksum FROM schema_migrations ORDER BY version")
    assert [(row["version"], row["checksum"]) for row in recorded] == [
        (migration.version, migration.checksum) for migration in load_migrations()]
    assert backend.db("SELECT role FROM users WHERE username = 'admin'")[0]["role"] == "admin"
    assert backend.db("SELECT count(*) FROM production_lines WHERE line_code = 'L-BAG1'")[0][0] == 1


def test_unreachable_database_fails_with_one_line(backend):
    env = backend.stack.env(DATABASE_URL="postgresql+asyncpg://ms5@127.0.0.1:1/none")
    result = subprocess.run([PYTHON, "-m", "app.migrate"], cwd=BACKEND_DIR, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("migrate failed:") and "\n" not in result.stderr.strip()
