"""SLO verdicts of a run's load runs (load/**/slo.json)."""

from __future__ import annotations

import json
from pathlib import Path


def load_runs(run_dir: Path) -> list[tuple[str, dict]]:
    """Every load run of the run directory, labelled: load/slo.json (steady load),
    load/<experiment>/slo.json (load while that experiment played)."""
    found = sorted((run_dir / "load").rglob("slo.json")) if (run_dir / "load").exists() else []
    return [("steady load" if path.parent == run_dir / "load" else f"under {path.parent.name}",
             json.loads(path.read_text())) for path in found]
