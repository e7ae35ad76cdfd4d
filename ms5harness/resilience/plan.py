"""The nightly plan (experiments/nightly.yaml): which experiments run, under what load, judged how.

Every entry names a Chaos Toolkit experiment and the service it exercises; its load, phase
lengths, expected alert, recovery target and per-phase gates come from the entry, else from the
plan's `defaults`, else from the chart's objectives (baseline and recovery are judged against
the SLOs themselves). The whole plan is validated before anything runs: each mistake is one line
naming the entry, the key and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ms5harness import paths
from ms5harness.errors import HarnessError
from ms5harness.load import ramp_seconds
from ms5harness.objectives import Objectives, merged
from ms5harness.slo import GATED_MEASURES, SECONDS_MEASURES, Threshold, thresholds

DEFAULT_PLAN = paths.REPO_ROOT / "experiments" / "nightly.yaml"
PHASES = ("baseline", "fault", "recovery")
SEVERITY_WEIGHTS = {"critical": 3, "warning": 1}  # as Krkn weighs its SLO checks
MIN_JUDGED_BASELINE_SECONDS = 10  # a baseline shorter than this after the ramp says nothing
_DURATION = re.compile(r"^(?:(?P<m>\d+)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?(?:(?P<ms>\d+)ms)?$")


class PlanError(HarnessError):
    pass


def seconds(value, where: str) -> float:
    """A duration: a number of seconds, or text such as 30s, 2m, 1m30s, 500ms."""
    if isinstance(value, bool) or value is None:
        raise PlanError(f"{where}: {value!r} is not a duration", "write e.g. 30s, 2m or 500ms")
    if isinstance(value, (int, float)):
        parsed = float(value)
    else:
        match = _DURATION.match(str(value).strip())
        if not match or not any(match.groups()):
            raise PlanError(f"{where}: {value!r} is not a duration", "write e.g. 30s, 2m or 500ms")
        parsed = int(match["m"] or 0) * 60 + float(match["s"] or 0) + int(match["ms"] or 0) / 1000
    if parsed <= 0:
        raise PlanError(f"{where}: {value!r} must be longer than zero", "write e.g. 30s")
    return parsed


def ratio(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise PlanError(f"{where}: {value!r} is not a ratio", "write a number from 0 to 1, e.g. 0.99")
    return float(value)


def positive_int(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PlanError(f"{where}: {value!r} is not a whole number above zero", "write e.g. 10")
    return value


def text(value, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PlanError(f"{where}: {value!r} is not a name", "write a non-empty text")
    return value


def severity(value, where: str) -> str:
    if value not in SEVERITY_WEIGHTS:
        raise PlanError(f"{where}: {value!r} is not a severity", f"choose one of {', '.join(SEVERITY_WEIGHTS)}")
    return value


def weight(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise PlanError(f"{where}: {value!r} is not a weight", "write a number above zero, e.g. 1")
    return float(value)


def gate_bound(measure: str):
    """A phase's bound on one measure; null means the phase does not gate it."""
    read = seconds if measure in SECONDS_MEASURES else ratio
    return lambda value, where: None if value is None else read(value, where)


# The schema: each key, how its value is read. Nested mappings are schemas themselves.
LOAD_SCHEMA = {"users": positive_int, "spawn_rate": weight, "baseline": seconds, "fault": seconds, "recovery": seconds}
ALERT_SCHEMA = {"name": text, "within": seconds}
PHASE_GATES_SCHEMA = {m: gate_bound(m) for m in GATED_MEASURES}
GATES_SCHEMA = {phase: PHASE_GATES_SCHEMA for phase in PHASES}
SETTINGS_SCHEMA = {"severity": severity, "weight": weight, "load": LOAD_SCHEMA, "alert": ALERT_SCHEMA,
                   "recover_within": seconds, "hold": seconds, "gates": GATES_SCHEMA}
ENTRY_SCHEMA = {"name": text, "file": text, "service": text, **SETTINGS_SCHEMA}
PLAN_SCHEMA = {"version": positive_int, "nodes": positive_int, "defaults": SETTINGS_SCHEMA, "experiments": None}
REQUIRED_ENTRY_KEYS = ("name", "service")


def checked(data, schema: dict, where: str) -> dict:
    """The mapping read through its schema: unknown keys and bad values are one-line errors."""
    if not isinstance(data, dict):
        raise PlanError(f"{where}: expected a mapping of {', '.join(schema)}, found {type(data).__name__}",
                        "indent the keys under it")
    out = {}
    for key, value in data.items():
        if key not in schema:
            raise PlanError(f"{where}: unknown key {key!r}", f"use one of {', '.join(schema)}")
        reader = schema[key]
        out[key] = checked(value, reader, f"{where}.{key}") if isinstance(reader, dict) else \
            value if reader is None else reader(value, f"{where}.{key}")
    return out


@dataclass(frozen=True)
class Load:
    users: int
    spawn_rate: float
    baseline: float
    fault: float
    recovery: float

    @property
    def bound(self) -> float:
        """The longest the load may run: its phases plus room for the experiment's own probes."""
        return self.baseline + self.fault + self.recovery + 600


@dataclass(frozen=True)
class Alert:
    name: str
    within: float


@dataclass(frozen=True)
class Entry:
    name: str
    file: Path
    service: str
    severity: str
    weight: float
    load: Load
    alert: Alert | None
    recover_within: float
    hold: float
    gates: dict[str, tuple[Threshold, ...]] = field(default_factory=dict)  # phase -> its thresholds

    @property
    def gate_weight(self) -> int:
        return SEVERITY_WEIGHTS[self.severity]


@dataclass(frozen=True)
class Plan:
    path: Path
    entries: tuple[Entry, ...]
    nodes: int | None = None  # the embedded cluster's shape the plan needs (None: as it is); a given cluster keeps its own


def builtin_defaults(objectives: Objectives) -> dict:
    """What an entry gets when neither it nor the plan's defaults say: the SLOs outside the fault."""
    slos = {t.measure: t.bound for t in thresholds(objectives)}
    return {"severity": "critical", "weight": 1.0, "recover_within": 60.0, "hold": 30.0,
            "load": {"users": 10, "spawn_rate": 5.0, "baseline": 30.0, "fault": 60.0, "recovery": 60.0},
            "gates": {"baseline": slos, "fault": slos, "recovery": slos}}


def entry(raw, index: int, defaults: dict, experiments_dir: Path, sli_window: float) -> Entry:
    label = f"experiments[{index}]" + (f" ({raw['name']})" if isinstance(raw, dict) and "name" in raw else "")
    data = checked(raw, ENTRY_SCHEMA, label)
    for key in REQUIRED_ENTRY_KEYS:
        if key not in data:
            raise PlanError(f"{label}: missing key {key!r}", f"add {key}: to the entry")
    data = merged(defaults, data)
    file = experiments_dir / data.get("file", f"{data['name']}.json")
    if not file.is_file():
        known = ", ".join(sorted(p.name for p in experiments_dir.glob("*.json")))
        raise PlanError(f"{label}: experiment file {file.name} does not exist in {experiments_dir}",
                        f"set file: to one of {known}")
    gates = {phase: tuple(Threshold(m, data["gates"][phase][m]) for m in GATED_MEASURES
                          if data["gates"][phase].get(m) is not None) for phase in PHASES}
    if "alert" in data and set(data["alert"]) != set(ALERT_SCHEMA):
        raise PlanError(f"{label}.alert: needs both name and within", "e.g. alert: {name: MS5BackendDown, within: 2m}")
    alert = Alert(data["alert"]["name"], data["alert"]["within"]) if "alert" in data else None
    ramp = ramp_seconds(data["load"]["users"], data["load"]["spawn_rate"])
    if data["load"]["baseline"] < ramp + MIN_JUDGED_BASELINE_SECONDS:
        raise PlanError(f"{label}.load.baseline: {data['load']['baseline']:g}s leaves less than "
                        f"{MIN_JUDGED_BASELINE_SECONDS}s after the {ramp:g}s ramp of {data['load']['users']} users",
                        f"make it at least {ramp + MIN_JUDGED_BASELINE_SECONDS:g}s or raise spawn_rate")
    if data["load"]["recovery"] < data["hold"] + sli_window:
        least = data["hold"] + sli_window
        raise PlanError(f"{label}.load.recovery: {data['load']['recovery']:g}s cannot show a recovery held for "
                        f"{data['hold']:g}s over a {sli_window:g}s SLI window", f"make it at least {least:g}s")
    return Entry(data["name"], file, data["service"], data["severity"], data["weight"], Load(**data["load"]),
                 alert, data["recover_within"], data["hold"], gates)


def load(path: Path | None, objectives: Objectives, only: list[str] | None = None, sli_window: float = 0) -> Plan:
    """The plan at `path` (default experiments/nightly.yaml), validated; `only` keeps the named entries.
    `sli_window`: how far back each step of an SLI series looks (recovery must outlast it plus `hold`)."""
    path = Path(path or DEFAULT_PLAN)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise PlanError(f"no plan at {path}", "pass --plan FILE, e.g. experiments/nightly.yaml") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise PlanError(f"{path.name} is not valid YAML{at}: {getattr(err, 'problem', err)}",
                        "fix the indentation or quoting there") from None
    data = checked(raw, PLAN_SCHEMA, path.name)
    defaults = merged(builtin_defaults(objectives), data.get("defaults") or {})
    raws = data.get("experiments")
    if not isinstance(raws, list) or not raws:
        raise PlanError(f"{path.name}: no experiments listed", "add an experiments: list with at least one entry")
    entries = tuple(entry(r, i, defaults, path.parent, sli_window) for i, r in enumerate(raws))
    names = [e.name for e in entries]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise PlanError(f"{path.name}: entry {duplicated[0]!r} is listed twice", "give each entry its own name")
    if only:
        unknown = [n for n in only if n not in names]
        if unknown:
            raise PlanError(f"--only {unknown[0]}: no such entry in {path.name}", f"choose from {', '.join(names)}")
        entries = tuple(e for e in entries if e.name in only)
    return Plan(path, entries, data.get("nodes"))
