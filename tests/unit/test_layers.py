"""The harness's layers point down: a module imports only from its own unit or from layers below it.

The order (docs/architecture.md) is data here. A unit is a top-level module or package of
ms5harness (`kube`, `chart`, `target`...); units in one layer are peers and never import each other.
Every import counts, also those inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

from ms5harness.paths import REPO_ROOT

PACKAGE = REPO_ROOT / "ms5harness"
LAYERS: tuple[tuple[str, ...], ...] = (
    ("__init__", "errors"),
    ("paths",),
    ("names",),
    ("objectives",),  # the SLOs, from the chart's values files (no helm)
    ("tools",),
    ("kube",),
    ("images",),
    ("cluster",),
    ("chart",),
    ("target",),
    ("deploy", "verify", "chaos", "slo"),
    ("load",),
    ("resilience",),
    ("reports",),
    ("pipeline",),
    ("cli",),
    ("__main__",),
)
NEVER_IMPORTED = ("suites", "tests", "conftest")  # the harness serves the tests, never the reverse


def unit_of(path: Path, package: Path) -> str:
    return path.relative_to(package).parts[0].removesuffix(".py")


def layer_of(unit: str) -> int:
    for index, units in enumerate(LAYERS):
        if unit in units:
            return index
    raise AssertionError(f"ms5harness.{unit} has no layer: add it to LAYERS in {Path(__file__).name}")


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every import of the file, a `from ms5harness import x` as ms5harness.x."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "ms5harness":
                found += [(node.lineno, f"ms5harness.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.ImportFrom):
            raise AssertionError(f"{path}:{node.lineno}: relative import; write ms5harness.<module>")
    return found


def violations(package: Path = PACKAGE) -> list[str]:
    problems = []
    for path in sorted(package.rglob("*.py")):
        unit = unit_of(path, package)
        here = layer_of(unit)
        for line, module in imports(path):
            parts = module.split(".")
            where = f"{path.relative_to(package.parent)}:{line} imports {module}"
            if parts[0] in NEVER_IMPORTED:
                problems.append(f"{where}: the harness never imports {parts[0]}")
            if parts[0] != "ms5harness" or len(parts) < 2 or parts[1] == unit:
                continue
            there = layer_of(parts[1])
            if there > here:
                problems.append(f"{where}: {unit} (layer {here}) may not import {parts[1]} (layer {there}, above it)")
            elif there == here:
                problems.append(f"{where}: {unit} and {parts[1]} are peers (layer {here}) and never import each other")
    return problems


def test_layers_point_down():
    problems = violations()
    assert not problems, "imports against the layer order:\n" + "\n".join(problems)


def test_the_rules_the_issue_names_follow_from_the_order():
    below = lambda a, b: layer_of(a) < layer_of(b)  # noqa: E731
    assert below("kube", "cluster") and below("images", "cluster") and below("tools", "chart")
    assert below("tools", "reports") and below("kube", "target") and below("cluster", "target")
    assert layer_of("chaos") == layer_of("verify")  # peers: chaos never imports verify, nor verify chaos


def test_a_bad_import_is_named(tmp_path):
    """The check catches an import against the order, inside a function too, and names it."""
    bad = tmp_path / "ms5harness" / "kube" / "oops.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("def f():\n    from ms5harness.cluster import build\n")
    assert violations(tmp_path / "ms5harness") == [
        "ms5harness/kube/oops.py:2 imports ms5harness.cluster: kube (layer 5) may not import cluster (layer 7, above it)"]
