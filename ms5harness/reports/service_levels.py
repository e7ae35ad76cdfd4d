"""SLO verdicts of a run's load runs (load/**/slo.json) as HTML tables."""

from __future__ import annotations

import html
import json
from pathlib import Path


def shown(value: float | None) -> str:
    return "no data" if value is None else f"{value:.4g}"


def table(data: dict) -> str:
    rows = "".join(f"<tr><td>{html.escape(v['objective'])}</td><td>{shown(v['value'])}</td>"
                   f"<td>{html.escape(v['target'])}</td><td>{'met' if v['met'] else 'BREACHED'}</td></tr>"
                   for v in data["verdicts"])
    clients = (f"<p>{data['users']} users for {data['seconds']}s: {data['client_requests']} requests, "
               f"{data['client_failures']} failed as the clients saw them; Prometheus counted "
               f"{shown(data['prometheus_requests'])}.</p>")
    return clients + f"<table><tr><th>objective</th><th>value</th><th>target</th><th>verdict</th></tr>{rows}</table>"


def load_runs(run_dir: Path) -> list[tuple[str, dict]]:
    """Every load run of the run directory, labelled: load/slo.json (steady load),
    load/<experiment>/slo.json (load while that experiment played)."""
    found = sorted((run_dir / "load").rglob("slo.json")) if (run_dir / "load").exists() else []
    return [("steady load" if path.parent == run_dir / "load" else f"under {path.parent.name}",
             json.loads(path.read_text())) for path in found]


def section(run_dir: Path) -> str | None:
    runs = load_runs(run_dir)
    return "".join(f"<h3>{html.escape(label)}</h3>{table(data)}" for label, data in runs) if runs else None
