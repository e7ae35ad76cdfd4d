"""The documented Postgres restore, run against a deployed release (manifests/README.md, "Restore").

Writes a marker row, runs the backup CronJob as a Job, changes the data, stops the writers, runs the
restore CronJob as a Job, and checks the database is back to the backup's state (the marker is back,
a table created after the backup is gone). The writers are stopped through the chaos ledger, so they
come back even if the run is interrupted.

The backup must also be seen by the monitoring: ms5_backup_last_success_timestamp_seconds (ms5-backup-monitor,
read from the backup store) advances to the new backup's time, close to the Job's completion, and neither backup
alert (MS5PostgresBackupTooOld, MS5PostgresBackupMissing) is pending or firing afterwards.
"""

from __future__ import annotations

import datetime
import json
import uuid
from pathlib import Path

import pytest

from ms5harness import names, tools
from ms5harness.chaos import ledger
from ms5harness.chaos.deployments.actions import scale_deployment
from ms5harness.chaos.prometheus.probes import prometheus
from ms5harness.kube import waits

WRITERS = ("backend", "celery-worker", "celery-beat")
PRIMARY_READY_SECONDS = 120  # a Patroni leader race after a settle resolves within ttl + loopWait (40 s)
# The monitor lists the store every 60 s and Prometheus scrapes it every 15 s (AKS; 5 s locally): a new backup
# shows within about 75 s; 180 s leaves room for one slow listing.
METRIC_SECONDS = 180
# Between the upload (the object's LastModified, the store's clock) and the Job's completionTime (the API
# server's clock) lie the size check, the pruning and the pod's exit; plus clock skew to an off-cluster store.
UPLOAD_TO_COMPLETION_SECONDS = 120
ALERT_CLEAR_SECONDS = 60  # rules are evaluated every 15 s; a resolved alert leaves ALERTS at the next evaluation
LAST_BACKUP = 'max(ms5_backup_last_success_timestamp_seconds{job="backup-monitor"})'
BACKUP_ALERTS = 'count(ALERTS{alertname=~"MS5PostgresBackup(TooOld|Missing)"})'
BACKUP_ALERT_STATES = 'ALERTS{alertname=~"MS5PostgresBackup(TooOld|Missing)"}'


def kubectl(kubeconfig: Path, namespace: str, *args: str, check: bool = True,
            seconds: float = tools.KUBECTL_SECONDS) -> str:
    """The stdout of kubectl in the stack's namespace (through the harness's one bounded runner)."""
    return tools.run("kubectl", kubeconfig, "-n", namespace, *args, check=check, seconds=seconds).stdout.strip()


def primary_endpoints(kubeconfig: Path, namespace: str) -> list[dict]:
    """The endpoints of the primary Service (ms5-postgres: the pod Patroni labels role=master)."""
    slices = json.loads(kubectl(kubeconfig, namespace, "get", "endpointslices", "-l",
                                f"kubernetes.io/service-name={names.object_name('postgres')}", "-o", "json"))
    return [e for s in slices["items"] for e in s.get("endpoints") or []]


def wait_for_primary(kubeconfig: Path, namespace: str) -> None:
    """The backup and restore Jobs connect once, to the primary Service: until it has a ready endpoint
    (a leader elected, labelled and Ready, e.g. just after a settle that restarted Postgres) pg_dump is
    refused. Wait for that state rather than retry the Job."""
    def summary(endpoints: list[dict]) -> str:
        return json.dumps([{"pod": (e.get("targetRef") or {}).get("name"), "addresses": e.get("addresses"),
                            "conditions": e.get("conditions")} for e in endpoints]) if endpoints else "no endpoints"
    waits.poll(f"Service {names.object_name('postgres')} has a ready endpoint",
               lambda: primary_endpoints(kubeconfig, namespace),
               lambda eps: any((e.get("conditions") or {}).get("ready") for e in eps),
               timeout=PRIMARY_READY_SECONDS, interval=2, summary=summary)


def run_cronjob(kubeconfig: Path, namespace: str, cronjob: str, timeout: int) -> tuple[dict, datetime.datetime]:
    """Run a CronJob's template now, once the primary is reachable; returns the one JSON line the tools
    script of the pod that succeeded printed (a Job that retried also has failed pods), and the Job's
    completion time."""
    wait_for_primary(kubeconfig, namespace)
    name = f"{cronjob.removeprefix('ms5-')}-test-{uuid.uuid4().hex[:6]}"
    kubectl(kubeconfig, namespace, "create", "job", f"--from=cronjob/{cronjob}", name)
    try:
        done = tools.run("kubectl", kubeconfig, "-n", namespace, "wait", "--for=condition=complete", f"job/{name}",
                         f"--timeout={timeout}s", check=False, seconds=timeout + tools.EXIT_GRACE_SECONDS)
        if done.returncode != 0:
            logs = kubectl(kubeconfig, namespace, "logs", "-l", f"job-name={name}", "--prefix", "--tail=20", check=False)
            pytest.fail(f"{name} did not complete: {logs[-1200:]}", pytrace=False)
        job = json.loads(kubectl(kubeconfig, namespace, "get", "job", name, "-o", "json"))
        pod = kubectl(kubeconfig, namespace, "get", "pods", "-l", f"job-name={name}", "--field-selector=status.phase=Succeeded",
                      "-o", "jsonpath={.items[0].metadata.name}")
        logs = kubectl(kubeconfig, namespace, "logs", pod)
        completed = datetime.datetime.fromisoformat(job["status"]["completionTime"].replace("Z", "+00:00"))
        return json.loads(logs.splitlines()[-1]), completed
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
    with prometheus(kube, namespace) as prom:
        before = prom.scalar(LAST_BACKUP)
        alerts_before = [(a["metric"]["alertname"], a["metric"]["alertstate"]) for a in
                         prom.api.get("/api/v1/query", params={"query": BACKUP_ALERT_STATES}).json()["data"]["result"]]
    backup, completed = run_cronjob(kubeconfig, namespace, "ms5-postgres-backup", 300)
    assert backup["ok"] and backup["key"].endswith(".dump"), backup
    with prometheus(kube, namespace) as prom:
        seen = waits.poll(f"{LAST_BACKUP} advanced past {before}", lambda: prom.scalar(LAST_BACKUP),
                          lambda ts: ts is not None and ts > (before or 0), timeout=METRIC_SECONDS, interval=5)
        lag = completed.timestamp() - seen
        assert -UPLOAD_TO_COMPLETION_SECONDS <= lag <= UPLOAD_TO_COMPLETION_SECONDS, \
            f"newest backup at {seen:.0f}, Job completed at {completed:%H:%M:%S} ({lag:+.0f} s): not this backup"
        waits.poll("backup alerts neither pending nor firing after the backup", lambda: prom.scalar(BACKUP_ALERTS),
                   lambda count: count is None, timeout=ALERT_CLEAR_SECONDS, interval=5,
                   summary=lambda count: f"{count:.0f} backup alerts; before the backup: {alerts_before}")

    psql("DELETE FROM ms5_restore_probe; CREATE TABLE ms5_restore_after_backup(x int)")
    configuration = {"kubeconfig": str(kubeconfig), "namespace": namespace}
    try:
        for component in WRITERS:
            scale_deployment(component, 0, configuration=configuration)
        for component in WRITERS:
            kubectl(kubeconfig, namespace, "wait", "--for=delete", "pod", "-l", f"app.kubernetes.io/component={component}",
                    "--timeout=120s", check=False, seconds=120 + tools.EXIT_GRACE_SECONDS)
        restore, _ = run_cronjob(kubeconfig, namespace, "ms5-postgres-restore", 600)
        assert restore["ok"] and restore["key"] >= backup["key"], restore
    finally:
        ledger.undo_everything(kube, namespace)
    assert psql("SELECT marker FROM ms5_restore_probe") == marker
    assert psql("SELECT to_regclass('ms5_restore_after_backup') IS NULL") == "t"
    psql("DROP TABLE ms5_restore_probe")
