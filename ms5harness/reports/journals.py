"""Chaos Toolkit journals of a run: what each experiment did and what it measured."""

from __future__ import annotations

import json
from pathlib import Path


def summarise(journal: dict) -> dict:
    verdict = "deviated" if journal.get("deviated") else journal.get("status", "unknown")
    activities = [f"{r['activity']['name']}: {r['status']} {json.dumps(r.get('output'))[:240]}"
                  for r in journal.get("run", [])]
    return {"title": journal["experiment"]["title"], "verdict": verdict,
            "seconds": round(journal.get("duration") or 0, 1), "activities": activities}


def entries(run_dir: Path) -> list[dict]:
    """Each journal under run_dir/journals/, summarised and named after its file; empty when the run
    played no experiment."""
    return [{"name": path.stem, **summarise(json.loads(path.read_text()))}
            for path in sorted((run_dir / "journals").glob("*.json"))]
