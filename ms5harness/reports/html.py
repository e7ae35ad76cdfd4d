"""A self-contained HTML report (no external assets) from one or more JUnit XML files."""

from __future__ import annotations

import html
from pathlib import Path

from ms5harness.reports import comparison, journals, service_levels
from ms5harness.reports.junit import Case, run_cases


COLORS = {"passed": "#1a7f37", "failed": "#cf222e", "error": "#cf222e", "skipped": "#9a6700"}


def render(cases: list[Case], title: str, extra_sections: dict[str, str] | None = None) -> str:
    counts = {k: sum(1 for c in cases if c.outcome == k) for k in COLORS}
    rows = []
    for c in sorted(cases, key=lambda c: (c.outcome == "passed", c.suite, c.name)):
        detail = f"<details><summary>details</summary><pre>{html.escape(c.detail)}</pre></details>" if c.detail else ""
        rows.append(f"<tr><td>{html.escape(c.suite)}</td><td>{html.escape(c.name)}{detail}</td>"
                    f"<td style='color:{COLORS[c.outcome]}'>{c.outcome}</td><td>{c.seconds:.1f}s</td></tr>")
    summary = ", ".join(f"<b style='color:{COLORS[k]}'>{v} {k}</b>" for k, v in counts.items() if v)
    sections = "".join(f"<h2>{html.escape(name)}</h2>{body}" for name, body in (extra_sections or {}).items())
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}}pre{{white-space:pre-wrap}}</style>
</head><body><h1>{html.escape(title)}</h1><p>{summary or 'no tests'}</p>{sections}
<table><tr><th>run</th><th>test</th><th>outcome</th><th>time</th></tr>{''.join(rows)}</table></body></html>"""


def write_report(run_dir: Path, title: str, extra_sections: dict[str, str] | None = None) -> Path:
    cases = run_cases(run_dir)
    sections = dict(extra_sections or {})
    for name, build in (("Since the previous run", comparison.section), ("Service levels under load", service_levels.section),
                        ("Chaos experiments", journals.section)):
        body = build(run_dir)
        if body:
            sections[name] = body
    out = run_dir / "report.html"
    out.write_text(render(cases, title, sections))
    return out
