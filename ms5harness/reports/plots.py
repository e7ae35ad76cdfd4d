"""Charts for the HTML reports, drawn by matplotlib's Agg renderer (no display, no pyplot state) and
returned as PNG data URIs, so report.html stays one self-contained file a CI job can archive."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 80  # 8 x 3.5 in at 80 dpi is a 640 x 280 PNG of a few tens of KB
SIDES = {"clients": "-", "server": "--"}  # line style per side
LINES = ((0, "p50", "tab:blue"), (0, "p95", "tab:orange"), (1, "error_ratio", "tab:red"))  # panel, measure, colour


def data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def values(series: Sequence[float | None]) -> np.ndarray:
    """A series as floats, None (not measured) as NaN: a gap in the line, not a drop to 0."""
    return np.array(series, dtype=float)


def mark_window(axes: Axes, experiment: dict, origin: float, end: float) -> None:
    """The fault window shaded; each alert's firing (solid) and resolution (dotted) as a vertical line."""
    fault_start, fault_end = experiment["window"].get("fault_start"), experiment["window"].get("fault_end")
    if fault_start is not None:
        fault_end = end if fault_end is None else fault_end
        axes.axvspan(fault_start - origin, fault_end - origin, color="tab:red", alpha=0.12)
    for alert in experiment["alerts"]:
        for at, style in ((alert["starts_at"], "-"), (alert["resolved_at"], ":")):
            if at is not None:
                axes.axvline(at - origin, color="tab:purple", linestyle=style, linewidth=1)


def experiment_chart(experiment: dict) -> str | None:
    """p50/p95 latency above, error ratio below, of the clients (solid) and the server (dashed) over
    the load in seconds since it started; None when the run recorded no series."""
    series = experiment["series"] or {}
    sides = {side: series[side] for side in SIDES if series.get(side) and series[side]["t"]}
    if not sides:
        return None
    times = [t for s in sides.values() for t in s["t"]]
    origin = experiment["window"]["load_start"]
    origin = min(times) if origin is None else origin
    figure = Figure(figsize=(8, 3.5), dpi=DPI, layout="constrained")
    panels = figure.subplots(2, 1, sharex=True)
    for side, s in sides.items():
        t = values(s["t"]) - origin
        for panel, measure, color in LINES:
            if s.get(measure):
                panels[panel].plot(t, values(s[measure]), SIDES[side], color=color,
                                   label=f"{side} {measure.replace('_', ' ')}")
    for axes, ylabel in zip(panels, ("latency (s)", "error ratio")):
        mark_window(axes, experiment, origin, max(times))
        axes.set_xlim(0, max(times) - origin)  # an alert that fired long before the load is not on this chart
        axes.set_ylabel(ylabel, fontsize=8)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7, loc="upper right")
    panels[1].set_xlabel("seconds since the load started", fontsize=8)
    return data_uri(figure)


def trend_chart(labels: list[str], lines: dict[str, list[float | None]], ylabel: str) -> str:
    """One line per name over the runs labelled along the x axis, oldest first."""
    figure = Figure(figsize=(8, 2.5), dpi=DPI, layout="constrained")
    axes = figure.subplots()
    x = np.arange(len(labels))
    for name, ys in lines.items():
        axes.plot(x, values(ys), marker="o", markersize=3, label=name)
    axes.set_xticks(x, labels, rotation=30, ha="right", fontsize=7)
    axes.set_ylabel(ylabel, fontsize=8)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, loc="best")
    return data_uri(figure)
