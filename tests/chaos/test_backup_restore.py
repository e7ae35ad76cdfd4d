"""The documented Postgres restore, run against a deployed release (manifests/README.md, "Restore").

Writes a marker row, runs the backup CronJob as a Job, changes the data, stops the writers, runs the
restore CronJob as a Job, and checks the database is back to the backup's state (the marker is back,
a table created after the backup is gone). The writers are stopped through the chaos ledger, so they
come back even if the run is interrupted.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from ms5harness import tools
from ms5harness.chaos import ledger
from ms5harness.chaos.deployments.actions import scale_deployment

WRITERS = ("backend", "celery-worker", "celery-beat")


def kubectl(kubeconfig: Path, namespace: str, *args: str, check: bool = True,
            seconds: float = tools.KUBECTL_SECONDS) -> str:
    """The stdout of kubectl in the stack's namespace (through the harness's one bounded runner)."""
    return tools.run("kubectl", kubeconfig, "-n", namespace, *args, check=check, seconds=seconds).stdout.strip()


def run_cronjob(kubeconfig: Path, namespace: str, cronjob: str, timeout: int) -> dict:
    """Run a CronJob's template now; returns the one JSON line the tools scripts print."""
    name = f"{cronjob.removeprefix('ms5-')}-test-{uuid.uuid4().hex[:6]}"
    kubectl(kubeconfig, namespace, "create", "job", f"--from=cronjob/{cronjob}", name)
    try:
        done = tools.run("kubectl", kubeconfig, "-n", namespace, "wait", "--for=condition=complete", f"job/{name}",
                         f"--timeout={timeout}s", check=False, seconds=timeout + tools.EXIT_GRACE_SECONDS)
        logs = kubectl(kubeconfig, namespace, "logs", f"job/{name}", check=False)
        assert done.returncode == 0, f"{name} did not complete: {logs[-800:]}"
        return json.loads(logs.splitlines()[-1])
    finally:
        kubectl(kubeconfig, namespace, "delete", "job", name, "--wait=false", check=False)


@pytest.mark.cluster
@pytest.mark.faults
def test_postgres_backup_and_documented_restore(kube, kubeconfig, settle, request):
    namespace = request.config.getoption("--namespace")
    settle()
    primary = kubectl(kubeconfig, namespace, "get", "pod", "-l", "app.kubernetes.io/component=postgres,role=master",
                      "-o", "jsonpath={.items[0].metadata.name}")
    assert primary, "no Patroni primary"

    def psql(sql: str) -> str:
        script = 'PGPASSWORD="$APP_PASSWORD" psql -h 127.0.0.1 -U "$APP_USER" -d "$APP_DB" -tAX -v ON_ERROR_STOP=1 -c "$1"'
        return kubectl(kubeconfig, namespace, "exec", primary, "-c", "postgres", "--", "sh", "-c", script, "_", sql)

    marker = uuid.uuid4().hex
    psql(f"CREATE TABLE IF NOT EXISTS ms5_restore_probe(marker text); TRUNCATE ms5_restore_probe; "
         f"INSERT INTO ms5_restore_probe VALUES ('{marker}')")
    backup = run_cronjob(kubeconfig, namespace, "ms5-postgres-backup", 300)
    assert backup["ok"] and backup["key"].endswith(".dump"), backup

    psql("DELETE FROM ms5_restore_probe; CREATE TABLE ms5_restore_after_backup(x int)")
    configuration = {"kubeconfig": str(kubeconfig), "namespace": namespace}
    try:
        for component in WRITERS:
            scale_deployment(component, 0, configuration=configuration)
        for component in WRITERS:
            kubectl(kubeconfig, namespace, "wait", "--for=delete", "pod", "-l", f"app.kubernetes.io/component={component}",
                    "--timeout=120s", check=False, seconds=120 + tools.EXIT_GRACE_SECONDS)
        restore = run_cronjob(kubeconfig, namespace, "ms5-postgres-restore", 600)
        assert restore["ok"] and restore["key"] >= backup["key"], restore
    finally:
        ledger.undo_everything(kube, namespace)
    assert psql("SELECT marker FROM ms5_restore_probe") == marker
    assert psql("SELECT to_regclass('ms5_restore_after_backup') IS NULL") == "t"
    psql("DROP TABLE ms5_restore_probe")
