"""Test outcomes of a run, read from its JUnit XML files (one per pytest step)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Case:
    suite: str
    name: str
    seconds: float
    outcome: str  # passed | failed | error | skipped
    detail: str


def read_junit(path: Path) -> list[Case]:
    cases = []
    for tc in ET.parse(path).getroot().iter("testcase"):
        outcome, detail = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = tc.find(tag)
            if node is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                detail = (node.get("message") or "") + ("\n" + node.text if node.text else "")
                break
        cases.append(Case(path.stem.removeprefix("junit-"), f"{tc.get('classname', '')}::{tc.get('name', '')}",
                          float(tc.get("time") or 0), outcome, detail.strip()))
    return cases


def run_cases(run_dir: Path) -> list[Case]:
    return [c for junit in sorted(run_dir.glob("junit-*.xml")) for c in read_junit(junit)]
