"""kube-score and checkov on a profile's rendered objects, judged against one justification file.

Every finding is either fixed in the chart or listed in manifests/scanner-justifications.yaml with
its reason; `judge` names the findings no entry covers and the entries that cover nothing (a fix
must take its justification with it, so the file cannot rot). kube-score is a pinned Go build
(ms5harness.cluster.build, recorded in tools.json); checkov lives in its own venv (.venv-checkov,
scripts/bootstrap.sh) because its dependencies conflict with the harness's pins.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from ms5harness import tools
from ms5harness.chart.rendering import KUBE_VERSION, example_values, render
from ms5harness.errors import HarnessError
from ms5harness.paths import PROFILES, REPO_ROOT

JUSTIFICATIONS = REPO_ROOT / "manifests" / "scanner-justifications.yaml"
CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
TOOLS = ("kube-score", "checkov")
KUBE_SCORE_SECONDS = 60  # measured well under a second for either profile
CHECKOV_SECONDS = 180  # measured about 3 s a profile, most of it its start-up
KUBE_SCORE_OK = 10  # kube-score's grade of a passed check (1 critical, 5 warning, 7 almost)
# checkov reads no platform mappings, fetches no guidelines and asks no registry for a newer release.
CHECKOV_ENV = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE"}


@dataclass(frozen=True)
class Finding:
    tool: str
    check: str
    kind: str
    name: str
    profile: str
    message: str

    @property
    def object(self) -> str:
        return f"{self.kind}/{self.name}"

    def __str__(self) -> str:
        return f"{self.tool} {self.check} {self.object} ({self.profile}): {self.message}"


@dataclass(frozen=True)
class Justification:
    tool: str
    check: str
    objects: tuple[str, ...]  # Kind/name, fnmatch globs
    profiles: tuple[str, ...]
    reason: str

    def covers(self, finding: Finding, profile: str | None = None, glob: str | None = None) -> bool:
        """Whether it covers the finding (only through this profile and glob, when given)."""
        return (self.tool == finding.tool and self.check == finding.check
                and finding.profile in ((profile,) if profile else self.profiles)
                and any(fnmatch.fnmatchcase(finding.object, g) for g in ((glob,) if glob else self.objects)))

    def covers_something_everywhere(self, findings: list[Finding]) -> bool:
        """Each of its profiles and globs covers a finding: none is left over from a fix."""
        return all(any(self.covers(f, profile, glob) for f in findings)
                   for profile in self.profiles for glob in self.objects)

    def __str__(self) -> str:
        return f"{self.tool} {self.check} {' '.join(self.objects)} ({', '.join(self.profiles)})"


def _scanned(cmd: list[str], seconds: float, env: dict[str, str] | None = None) -> str:
    """stdout of a scanner, which exits non-zero when it finds something: only no output is a failure."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds, env=env)
    except subprocess.TimeoutExpired:
        raise HarnessError(f"{Path(cmd[0]).name} did not finish in {seconds:.0f}s") from None
    if not proc.stdout.strip():
        raise HarnessError(f"{Path(cmd[0]).name} failed: {tools.last_line(proc.stderr)}")
    return proc.stdout


def kube_score(profile: str, manifest: Path) -> list[Finding]:
    """Every check kube-score grades below OK, one finding per check and object."""
    minor = ".".join(KUBE_VERSION.split(".")[:2])
    out = _scanned([str(tools.binary("kube-score")), "score", "--output-format", "json",
                    "--kubernetes-version", f"v{minor}", str(manifest)], KUBE_SCORE_SECONDS)
    findings = []
    for obj in json.loads(out):
        for result in obj["checks"]:
            if result["skipped"] or result["grade"] >= KUBE_SCORE_OK:
                continue
            comments = "; ".join(f"{c.get('path') or ''} {c['summary']}".strip() for c in result["comments"] or [])
            findings.append(Finding("kube-score", result["check"]["id"], obj["type_meta"]["kind"],
                                    obj["object_meta"]["name"], profile, comments or result["check"]["name"]))
    return findings


def checkov(profile: str, manifest: Path) -> list[Finding]:
    """Every failed checkov check of the kubernetes framework (its resource is Kind.namespace.name)."""
    if not CHECKOV.exists():
        raise HarnessError("checkov is not installed", "run scripts/bootstrap.sh (it creates .venv-checkov)")
    out = _scanned([str(CHECKOV), "--file", str(manifest), "--framework", "kubernetes", "--output", "json",
                    "--quiet", "--compact", "--skip-download"], CHECKOV_SECONDS, env={**os.environ, **CHECKOV_ENV})
    report = json.loads(out)
    findings = []
    for failed in report["results"]["failed_checks"] if report else []:
        kind, _namespace, name = failed["resource"].split(".", 2)
        findings.append(Finding("checkov", failed["check_id"], kind, name, profile, failed["check_name"]))
    return findings


def scan(profile: str) -> list[Finding]:
    """Both scanners on the objects the chart renders for a profile (with its example deploy-time values,
    as the numbered files hold them)."""
    with tempfile.TemporaryDirectory(prefix="ms5h-scan-") as tmp:
        manifest = Path(tmp) / f"{profile}.yaml"
        manifest.write_text(yaml.safe_dump_all(render(profile, example_values(profile)), sort_keys=False))
        return kube_score(profile, manifest) + checkov(profile, manifest)


def justifications(path: Path = JUSTIFICATIONS) -> list[Justification]:
    """The justification file's entries; a malformed one is one line naming it."""
    entries = yaml.safe_load(path.read_text()) or []
    out = []
    for number, entry in enumerate(entries, 1):
        where = f"{path.name} entry {number}"
        missing = [k for k in ("tool", "check", "object", "profile", "reason") if not entry.get(k)]
        if missing:
            raise HarnessError(f"{where} lacks {', '.join(missing)}", "see docs/aks.md, Scanners")
        profiles = tuple(PROFILES) if entry["profile"] == "*" else tuple(str(entry["profile"]).split(","))
        if entry["tool"] not in TOOLS or not set(profiles) <= set(PROFILES):
            raise HarnessError(f"{where}: tool must be one of {', '.join(TOOLS)} and profile one of "
                               f"{', '.join(PROFILES)} or '*'")
        objects = entry["object"] if isinstance(entry["object"], list) else [entry["object"]]
        out.append(Justification(entry["tool"], str(entry["check"]), tuple(objects), profiles, entry["reason"]))
    return out


def judge(findings: list[Finding], entries: list[Justification]) -> tuple[list[Finding], list[Justification]]:
    """(findings no entry covers, entries with a profile or glob that covers no finding)."""
    unjustified = [f for f in findings if not any(e.covers(f) for e in entries)]
    stale = [e for e in entries if not e.covers_something_everywhere(findings)]
    return unjustified, stale


def counts(findings: list[Finding]) -> dict[tuple[str, str], int]:
    """Findings per (tool, profile), before justification: the figures a closing note quotes."""
    return {(tool, profile): sum(1 for f in findings if f.tool == tool and f.profile == profile)
            for tool in TOOLS for profile in PROFILES}
