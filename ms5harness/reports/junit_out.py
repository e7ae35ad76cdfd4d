"""junit-nightly.xml: the nightly run's resilience verdicts as JUnit, so Jenkins, GitHub Actions or
Azure DevOps list each failed gate as a failed test. One <testsuite> per experiment attempt, one
<testcase> per gate (classname = experiment, name = gate), and a "pipeline" suite with a testcase
per step that failed or did not run."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def text(value: object) -> str:
    """XML 1.0 cannot carry most control characters (a log line's colour codes); ElementTree would
    write them as they are and the CI server would reject the whole file."""
    return NOT_XML.sub("?", str(value))


def testcase(suite: ET.Element, classname: str, name: str, seconds: float = 0.0) -> ET.Element:
    return ET.SubElement(suite, "testcase", classname=text(classname), name=text(name), time=f"{seconds:.3f}")


def fail(case: ET.Element, message: str, detail: str = "") -> None:
    ET.SubElement(case, "failure", message=text(message), type="AssertionError").text = text(detail or message)


def measured(gate: dict) -> str:
    return ", ".join(f"{side} {'no data' if v is None else v}" for side, v in gate["values"].items()) or "no data"


def tally(suite: ET.Element, seconds: float) -> None:
    """The counts CI servers read from the attributes rather than by counting testcases."""
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    for attribute, tag in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
        suite.set(attribute, str(sum(c.find(tag) is not None for c in cases)))
    suite.set("time", f"{seconds:.3f}")


def attempt_suite(root: ET.Element, experiment: dict) -> None:
    """A gate that was not evaluated fails like one that was missed: no data is not a pass. An attempt
    that failed while every gate passed (say, the Chaos Toolkit method) gets a "verdict" testcase with
    its reason, so the file is never greener than the summary."""
    name, start, end = experiment["name"], experiment["window"]["load_start"], experiment["window"]["load_end"]
    suite = ET.SubElement(root, "testsuite", name=text(f"{name} attempt {experiment['attempt']}"))
    if start is not None:
        suite.set("timestamp", datetime.fromtimestamp(start, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"))
    for gate in experiment["gates"]:
        case = testcase(suite, name, gate["name"])
        if gate["passed"] is not True:
            figures = f"{gate['measure']}: {measured(gate)}, target {gate['target']}"
            fail(case, gate["detail"] or figures, f"{gate['severity']} gate (weight {gate['weight']}) over "
                                                  f"{gate['phase'] or 'the whole run'}; {figures}")
    if experiment["passed"] is not True and all(g["passed"] is True for g in experiment["gates"]):
        fail(testcase(suite, name, "verdict"), experiment["reason"] or "no verdict")
    tally(suite, end - start if start is not None and end is not None else 0.0)


def steps_suite(root: ET.Element, steps: list[dict]) -> None:
    """A failed step fails; one that did not run ("not run", "skipped") is a skipped testcase."""
    unfinished = [s for s in steps if s["outcome"] != "passed"]
    if not unfinished:
        return
    suite = ET.SubElement(root, "testsuite", name="pipeline")
    for step in unfinished:
        case = testcase(suite, "pipeline", step["name"], step["seconds"])
        if step["outcome"] == "failed":
            fail(case, (step["detail"] or "failed").splitlines()[0], step["detail"])
        else:
            ET.SubElement(case, "skipped", message=text(step["outcome"]))
    tally(suite, sum(s["seconds"] for s in unfinished))


def write_gates_junit(path: Path, summary: dict) -> Path:
    root = ET.Element("testsuites", name=text(f"MS5 nightly {summary['run_id']}"))
    for experiment in summary["experiments"]:
        attempt_suite(root, experiment)
    steps_suite(root, summary["steps"])
    suites = root.findall("testsuite")
    for kind in ("tests", "failures", "errors", "skipped"):
        root.set(kind, str(sum(int(s.get(kind)) for s in suites)))
    root.set("time", f"{sum(float(s.get('time')) for s in suites):.3f}")
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path
