"""kube-score and checkov on both profiles: every finding is fixed in the chart or justified in
manifests/scanner-justifications.yaml, and every justification still covers a finding.

Each scanner runs once per profile (checkov's start-up is most of the suite's time); the counts per
tool and profile, before justification, are printed for the closing notes.
"""

from __future__ import annotations

import pytest

from ms5harness.chart import scanners
from ms5harness.paths import PROFILES


@pytest.fixture(scope="module")
def findings() -> list[scanners.Finding]:
    return [f for profile in PROFILES for f in scanners.scan(profile)]


@pytest.fixture(scope="module")
def entries() -> list[scanners.Justification]:
    return scanners.justifications()


def test_scanners_find_what_they_look_for(findings, capsys):
    """Both scanners ran on both profiles and reported something: a scanner that parses nothing
    (a changed output format, an empty render) would otherwise pass every check below."""
    counts = scanners.counts(findings)
    with capsys.disabled():
        print("\nscanner findings before justification: "
              + ", ".join(f"{tool} {profile} {n}" for (tool, profile), n in counts.items()))
    assert all(counts.values()), counts


@pytest.mark.parametrize("profile", PROFILES)
def test_every_finding_is_fixed_or_justified(profile, findings, entries):
    unjustified, _ = scanners.judge([f for f in findings if f.profile == profile], entries)
    assert not unjustified, (f"{len(unjustified)} findings neither fixed nor listed in "
                             f"{scanners.JUSTIFICATIONS.name}:\n" + "\n".join(map(str, unjustified)))


def test_every_justification_covers_a_finding(findings, entries):
    _, stale = scanners.judge(findings, entries)
    assert not stale, (f"justifications in {scanners.JUSTIFICATIONS.name} that cover nothing any more "
                       "(remove them, or narrow their profile):\n" + "\n".join(map(str, stale)))
