"""Backups that survive the cluster: the backup CronJob's timing fields, the AKS profile's refusal of an
in-cluster backup target, ms5-backup-monitor (scraped, isolated, reading the store) and its two alerts,
whose promtool unit tests (tests/static/promtool/backup-*.yaml) run in test_alerting.py with the others, and the
backup/restore scripts' bounded wait for PostgreSQL."""

from __future__ import annotations

import datetime
import os
import sys
import types
from pathlib import Path

import pytest
import yaml

from ms5harness import chart, paths
from ms5harness.errors import HarnessError

from chart_checks import rendered

MONITOR = paths.REPO_ROOT / "images" / "tools" / "bin" / "ms5-backup-monitor"
OFF_CLUSTER = {  # an off-cluster target in the local profile, with what it needs
    "postgres.backup.store.endpoint": "https://backups.example.net",
    "postgres.backup.store.cidrs": ["192.0.2.0/24"],
    "secrets.values": {"BACKUP_S3_ACCESS_KEY": "a", "BACKUP_S3_SECRET_KEY": "s"},
}


def find(objects: list[dict], kind: str, name: str) -> dict:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def backup_pod(objects: list[dict]) -> dict:
    return find(objects, "CronJob", "ms5-postgres-backup")["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def env(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container["env"]}


def rules(objects: list[dict]) -> dict[str, dict]:
    text = find(objects, "ConfigMap", "ms5-prometheus-rules-backup")["data"]["backup.yml"]
    return {r["alert"]: r for g in yaml.safe_load(text)["groups"] for r in g["rules"]}


def egress(policy: dict) -> set[tuple[str, int]]:
    out = set()
    for rule in policy["spec"].get("egress") or []:
        for peer in rule["to"]:
            name = peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component") or peer["ipBlock"]["cidr"]
            out |= {(name, p["port"]) for p in rule["ports"]}
    return out


def test_cronjob_timing_comes_from_values():
    default = find(rendered("aks"), "CronJob", "ms5-postgres-backup")["spec"]
    assert (default["startingDeadlineSeconds"], default["concurrencyPolicy"]) == (3600, "Forbid")
    assert (default["jobTemplate"]["spec"]["backoffLimit"], default["jobTemplate"]["spec"]["activeDeadlineSeconds"]) == (2, 3600)
    changed = find(rendered("local", {"postgres.backup.startingDeadlineSeconds": 600, "postgres.backup.concurrencyPolicy": "Replace",
                                          "postgres.backup.backoffLimit": 0, "postgres.backup.activeDeadlineSeconds": 900}),
                   "CronJob", "ms5-postgres-backup")["spec"]
    assert (changed["startingDeadlineSeconds"], changed["concurrencyPolicy"]) == (600, "Replace")
    assert (changed["jobTemplate"]["spec"]["backoffLimit"], changed["jobTemplate"]["spec"]["activeDeadlineSeconds"]) == (0, 900)


def test_aks_backs_up_off_the_cluster_with_its_own_credentials():
    aks = rendered("aks")
    store = yaml.safe_load((chart.CHART_DIR / "values-aks.yaml").read_text())["postgres"]["backup"]["store"]
    for container in (backup_pod(aks)["containers"][0], find(aks, "Deployment", "ms5-backup-monitor")["spec"]["template"]["spec"]["containers"][0]):
        e = env(container)
        assert e["S3_ENDPOINT"]["value"] == store["endpoint"] and e["S3_BUCKET"]["value"] == store["bucket"]
        assert e["S3_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "BACKUP_S3_ACCESS_KEY"
        assert e["S3_SECRET_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "BACKUP_S3_SECRET_KEY"
    synced = {d["key"] for d in find(aks, "SecretProviderClass", "ms5-keyvault")["spec"]["secretObjects"][0]["data"]}
    assert {"BACKUP_S3_ACCESS_KEY", "BACKUP_S3_SECRET_KEY"} <= synced
    policies = {o["metadata"]["name"]: o for o in aks if o["kind"] == "NetworkPolicy"}
    for name in ("ms5-postgres-backup", "ms5-backup-monitor"):
        out = egress(policies[name])
        assert {(cidr, store["port"]) for cidr in store["cidrs"]} <= out and not any(c == "minio" for c, _ in out), name
    local = backup_pod(rendered("local"))["containers"][0]
    assert env(local)["S3_ENDPOINT"]["value"] == "http://ms5-minio:9000"
    assert env(local)["S3_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "MINIO_ACCESS_KEY"


@pytest.mark.parametrize("endpoint", ["", "http://ms5-minio:9000", "https://ms5-minio:9000",
                                      "https://ms5-minio.ms5-production.svc:9000",
                                      "https://ms5-minio.ms5-production.svc.cluster.local:9000"])
def test_aks_refuses_an_in_cluster_backup_target(endpoint):
    with pytest.raises(HarnessError) as err:
        rendered("aks", {"postgres.backup.store.endpoint": endpoint})
    message = str(err.value)
    assert "postgres.backup.store.endpoint: " in message and "allOf" not in message and "\n" not in message


def test_off_cluster_target_needs_credentials_and_addresses():
    given = dict(OFF_CLUSTER)
    given.pop("secrets.values")
    with pytest.raises(HarnessError, match=r"secrets\.values\.BACKUP_S3_ACCESS_KEY is required"):
        rendered("local", given)
    with pytest.raises(HarnessError, match=r"postgres\.backup\.store\.cidrs"):
        rendered("local", {**OFF_CLUSTER, "postgres.backup.store.cidrs": []})
    objects = rendered("local", OFF_CLUSTER)
    assert env(backup_pod(objects)["containers"][0])["S3_ENDPOINT"]["value"] == "https://backups.example.net"
    assert egress(find(objects, "NetworkPolicy", "ms5-backup-monitor")) == {("192.0.2.0/24", 443)}


@pytest.mark.parametrize("profile", chart.PROFILES)
def test_backup_monitor_is_scraped_and_isolated(profile):
    objects = rendered(profile)
    port = yaml.safe_load((chart.CHART_DIR / "values.yaml").read_text())["postgres"]["backup"]["monitor"]["port"]
    svc = find(objects, "Service", "ms5-backup-monitor")
    assert svc["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
    assert [(p["name"], p["port"]) for p in svc["spec"]["ports"]] == [("metrics", port)]  # ms5-k8s-sd: job="backup-monitor"
    policy = find(objects, "NetworkPolicy", "ms5-backup-monitor")["spec"]
    sources = {(peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"], p["port"])
               for rule in policy["ingress"] for peer in rule["from"] for p in rule["ports"]}
    assert sources == {("prometheus", port)}
    assert ("backup-monitor", port) in egress(find(objects, "NetworkPolicy", "ms5-prometheus"))
    projected = find(objects, "StatefulSet", "ms5-prometheus")["spec"]["template"]["spec"]["volumes"]
    sources = [s["configMap"]["name"] for v in projected if v["name"] == "rules" for s in v["projected"]["sources"]]
    assert "ms5-prometheus-rules-backup" in sources


@pytest.mark.parametrize(("values", "minutes"), [
    ({}, 1440 + 60 + 60),  # the default daily schedule, startingDeadlineSeconds and activeDeadlineSeconds of 3600
    ({"postgres.backup.schedule": "0 * * * *"}, 60 + 120),
    ({"postgres.backup.schedule": "*/30 * * * *", "postgres.backup.activeDeadlineSeconds": 600}, 30 + 60 + 10),
    ({"postgres.backup.schedule": "0 3 * * 0"}, 10080 + 120),
    ({"postgres.backup.schedule": "0 2 1 * *", "postgres.backup.maxAgeMinutes": 2000}, 2000),
])
def test_backup_alerts_allow_the_schedule(values, minutes):
    alerts = rules(rendered("local", values))
    assert alerts["MS5PostgresBackupTooOld"]["expr"].endswith(f"> {minutes * 60}")
    assert alerts["MS5PostgresBackupMissing"]["for"] == f"{minutes}m"
    assert alerts["MS5PostgresBackupMissing"]["expr"].startswith("absent(")


def test_an_irregular_schedule_needs_an_explicit_allowance():
    with pytest.raises(HarnessError, match=r"postgres\.backup\.maxAgeMinutes: set it for the schedule"):
        rendered("local", {"postgres.backup.schedule": "0 2 1 * *"})


# --- ms5-backup-monitor, on stubs of the store ------------------------------------------------------------------


class StoreDown(Exception):
    pass


def load_monitor(monkeypatch) -> types.ModuleType:
    """The monitor's code with botocore's exceptions and the ms5_s3 helpers stubbed (boto3 lives in the image)."""
    exceptions = types.ModuleType("botocore.exceptions")
    exceptions.BotoCoreError, exceptions.ClientError = StoreDown, StoreDown
    monkeypatch.setitem(sys.modules, "botocore", types.ModuleType("botocore"))
    monkeypatch.setitem(sys.modules, "botocore.exceptions", exceptions)
    monkeypatch.setitem(sys.modules, "ms5_s3", types.ModuleType("ms5_s3"))
    monkeypatch.setattr(sys, "path", list(sys.path))  # the script puts its own directory first
    module = types.ModuleType("ms5_backup_monitor")
    module.__file__ = str(MONITOR)
    exec(compile(MONITOR.read_text(), MONITOR.name, "exec"), module.__dict__)
    return module


class Store:
    """list_objects_v2 pages of a bucket, or a failure."""

    def __init__(self) -> None:
        self.objects: list[dict] = []
        self.down = False

    def get_paginator(self, _name: str):
        store = self

        class Pages:
            def paginate(self, Bucket: str, Prefix: str):  # noqa: N803 (boto3's names)
                if store.down:
                    raise StoreDown("connect timeout")
                return [{"Contents": [o for o in store.objects if o["Key"].startswith(Prefix)]}]
        return Pages()


def at(hour: int) -> datetime.datetime:
    return datetime.datetime(2026, 12, 1, hour, tzinfo=datetime.timezone.utc)


def samples(text: str) -> dict[str, float]:
    return {ln.split()[0]: float(ln.split()[1]) for ln in text.splitlines() if ln and not ln.startswith("#")}


def test_monitor_reports_the_newest_backup(monkeypatch):
    monitor = load_monitor(monkeypatch)
    store, backups = Store(), monitor.Backups()
    assert not backups.healthy(60), "healthy before any listing"
    backups.refresh(store, "ms5-backups", "postgres")
    seen = samples(backups.metrics())
    assert "ms5_backup_last_success_timestamp_seconds" not in seen and seen["ms5_backup_store_up"] == 1
    assert backups.healthy(60)
    store.objects = [
        {"Key": "postgres/db-2.dump", "LastModified": at(2), "Size": 20},
        {"Key": "postgres/db-9.dump", "LastModified": at(1), "Size": 10},  # the newest is by time, not by name
        {"Key": "postgres/notes.txt", "LastModified": at(5), "Size": 1},
        {"Key": "other/db.dump", "LastModified": at(6), "Size": 1},
    ]
    backups.refresh(store, "ms5-backups", "postgres")
    seen = samples(backups.metrics())
    assert seen["ms5_backup_last_success_timestamp_seconds"] == at(2).timestamp()
    assert (seen["ms5_backup_last_success_size_bytes"], seen["ms5_backup_objects"]) == (20, 2)
    store.down = True  # an unreachable store keeps what was last seen, and says it is down
    backups.refresh(store, "ms5-backups", "postgres")
    seen = samples(backups.metrics())
    assert seen["ms5_backup_store_up"] == 0 and seen["ms5_backup_last_success_timestamp_seconds"] == at(2).timestamp()
    store.down, store.objects = False, []  # the in-memory store restarted empty: no backup any more
    backups.refresh(store, "ms5-backups", "postgres")
    assert "ms5_backup_last_success_timestamp_seconds" not in samples(backups.metrics())


def load_ms5_s3(monkeypatch) -> types.ModuleType:
    """The scripts' shared module with boto3 and botocore stubbed (they live in the image)."""
    for name in ("boto3", "botocore", "botocore.config", "botocore.exceptions"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    sys.modules["botocore.config"].Config = object
    sys.modules["botocore.exceptions"].BotoCoreError = sys.modules["botocore.exceptions"].ClientError = StoreDown
    source = MONITOR.with_name("ms5_s3.py")
    module = types.ModuleType("ms5_s3")
    exec(compile(source.read_text(), source.name, "exec"), module.__dict__)
    return module


def fake_pg_isready(tmp_path: Path, monkeypatch, exits: list[int]) -> Path:
    """A pg_isready on PATH that exits with the given codes in turn (the last one repeats) and counts its calls."""
    calls = tmp_path / "calls"
    script = tmp_path / "pg_isready"
    script.write_text(f"#!/bin/sh\necho x >> {calls}\nn=$(wc -l < {calls})\n"
                      f"set -- {' '.join(map(str, exits))}\nwhile [ $# -gt 1 ] && [ $n -gt 1 ]; do shift; n=$((n-1)); done\n"
                      "echo 'ms5-postgres:5432 - no response'\nexit $1\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    return calls


def test_jobs_wait_for_postgres_then_run_once(tmp_path, monkeypatch, capsys):
    """A Job's first connection may be refused (its pod's NetworkPolicy not yet synced, a leader election): the
    scripts wait for pg_isready, bounded, and say what they last saw; bad parameters fail at once."""
    ms5_s3 = load_ms5_s3(monkeypatch)
    monkeypatch.setattr(ms5_s3.time, "sleep", lambda _s: None)
    calls = fake_pg_isready(tmp_path, monkeypatch, [2, 2, 0])
    ms5_s3.wait_postgres(60)
    assert len(calls.read_text().splitlines()) == 3
    calls.unlink()
    fake_pg_isready(tmp_path, monkeypatch, [3])
    with pytest.raises(SystemExit):
        ms5_s3.wait_postgres(60)
    assert len(calls.read_text().splitlines()) == 1
    calls.unlink()
    fake_pg_isready(tmp_path, monkeypatch, [2])
    capsys.readouterr()
    with pytest.raises(SystemExit):
        ms5_s3.wait_postgres(0)
    assert "pg_isready exit 2 ms5-postgres:5432 - no response" in capsys.readouterr().out
