"""The load run's SLO verdicts (load/slo.json of a run) as an HTML table."""

from __future__ import annotations

import html
import json
from pathlib import Path


def shown(value: float | None) -> str:
    return "no data" if value is None else f"{value:.4g}"


def section(run_dir: Path) -> str | None:
    path = run_dir / "load" / "slo.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    rows = "".join(f"<tr><td>{html.escape(v['objective'])}</td><td>{shown(v['value'])}</td>"
                   f"<td>{html.escape(v['target'])}</td><td>{'met' if v['met'] else 'BREACHED'}</td></tr>"
                   for v in data["verdicts"])
    clients = (f"<p>{data['users']} users for {data['seconds']}s: {data['client_requests']} requests, "
               f"{data['client_failures']} failed as the clients saw them; Prometheus counted "
               f"{shown(data['prometheus_requests'])}.</p>")
    return clients + f"<table><tr><th>objective</th><th>value</th><th>target</th><th>verdict</th></tr>{rows}</table>"
