"""How scanner findings are judged against the justification file (ms5harness.chart.scanners)."""

from __future__ import annotations

import pytest

from ms5harness.chart import scanners
from ms5harness.errors import HarnessError

FINDING = scanners.Finding("checkov", "CKV_K8S_43", "StatefulSet", "ms5-redis", "aks", "Image should use digest")


def entry(**changes) -> scanners.Justification:
    fields = dict(tool="checkov", check="CKV_K8S_43", objects=("StatefulSet/ms5-*",), profiles=("aks",), reason="why")
    return scanners.Justification(**{**fields, **changes})


def test_an_entry_covers_its_tool_check_profile_and_glob():
    assert entry().covers(FINDING)
    assert entry(objects=("Deployment/ms5-backend", "StatefulSet/ms5-redis")).covers(FINDING)
    assert not entry(tool="kube-score").covers(FINDING)
    assert not entry(check="CKV_K8S_15").covers(FINDING)
    assert not entry(profiles=("local",)).covers(FINDING)
    assert not entry(objects=("Deployment/*",)).covers(FINDING)


def test_unjustified_findings_and_stale_entries_are_both_named():
    other = scanners.Finding("kube-score", "cronjob-has-deadline", "CronJob", "ms5-postgres-backup", "aks", "")
    unjustified, stale = scanners.judge([FINDING, other], [entry(), entry(check="CKV_K8S_35")])
    assert unjustified == [other]
    assert [e.check for e in stale] == ["CKV_K8S_35"]


def test_an_entry_for_both_profiles_is_stale_when_one_has_nothing_to_cover():
    _, stale = scanners.judge([FINDING], [entry(profiles=("local", "aks"))])
    assert len(stale) == 1


def test_an_entry_is_stale_when_one_of_its_globs_has_nothing_to_cover():
    _, stale = scanners.judge([FINDING], [entry(objects=("StatefulSet/ms5-redis", "Deployment/ms5-nginx"))])
    assert len(stale) == 1


def test_the_file_reads_star_as_every_profile(tmp_path):
    path = tmp_path / "j.yaml"
    path.write_text("- {tool: checkov, check: CKV_K8S_43, object: '*', profile: '*', reason: pinned by tag}\n")
    assert scanners.justifications(path)[0].profiles == scanners.PROFILES


@pytest.mark.parametrize("text, message", [
    ("- {tool: checkov, check: X, object: '*', profile: aks}\n", "entry 1 lacks reason"),
    ("- {tool: trivy, check: X, object: '*', profile: aks, reason: r}\n", "tool must be one of"),
    ("- {tool: checkov, check: X, object: '*', profile: prod, reason: r}\n", "profile one of"),
])
def test_a_malformed_entry_is_one_line_naming_it(tmp_path, text, message):
    path = tmp_path / "j.yaml"
    path.write_text(text)
    with pytest.raises(HarnessError, match=message):
        scanners.justifications(path)
