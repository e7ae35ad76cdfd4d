"""Chaos Toolkit journals of a run as one HTML table: what each experiment did and what it measured."""

from __future__ import annotations

import html
import json
from pathlib import Path


def summarise(journal: dict) -> dict:
    verdict = "deviated" if journal.get("deviated") else journal.get("status", "unknown")
    activities = [f"{r['activity']['name']}: {r['status']} {json.dumps(r.get('output'))[:240]}"
                  for r in journal.get("run", [])]
    return {"title": journal["experiment"]["title"], "verdict": verdict,
            "seconds": round(journal.get("duration") or 0, 1), "activities": activities}


def section(run_dir: Path) -> str | None:
    """The journals under run_dir/journals/ as a table, or None when the run played no experiment."""
    paths = sorted((run_dir / "journals").glob("*.json"))
    if not paths:
        return None
    rows = []
    for path in paths:
        s = summarise(json.loads(path.read_text()))
        detail = html.escape("\n".join(s["activities"]))
        rows.append(f"<tr><td>{html.escape(path.stem)}</td><td>{html.escape(s['title'])}<pre>{detail}</pre></td>"
                    f"<td>{html.escape(s['verdict'])}</td><td>{s['seconds']}s</td></tr>")
    return ("<table><tr><th>experiment</th><th>what it did and measured</th><th>verdict</th><th>time</th></tr>"
            + "".join(rows) + "</table>")
