"""values.schema.json, built from values.yaml and the rules beside it (values.schema.rules.yaml).

Strict: every key of values.yaml, nothing else, each typed by its default unless a rule says more
(enums, patterns, bounds). `ms5harness manifests schema` rewrites the file; tests/static fail on drift.
"""

from __future__ import annotations

import fnmatch
import json
from functools import cache
from pathlib import Path

import yaml

from ms5harness.errors import HarnessError
from ms5harness.paths import CHART_DIR

RULES_FILE = CHART_DIR / "values.schema.rules.yaml"
SCHEMA_FILE = CHART_DIR / "values.schema.json"


@cache
def rules_file() -> dict:
    return yaml.safe_load(RULES_FILE.read_text())


def rules() -> dict[str, dict]:
    """Dotted key pattern -> the schema that replaces the inferred one."""
    return rules_file()["rules"]


def nested(path: str, leaf: dict) -> dict:
    """`leaf` as the schema of the dotted key `path`, the keys above it required objects."""
    for key in reversed(path.split(".")):
        leaf = {"type": "object", "required": [key], "properties": {key: leaf}}
    return leaf


def required_by_profile() -> list[dict]:
    """One if/then per profile of the rules' `required`: that profile's keys must be non-empty strings."""
    return [
        {"if": nested("global.profile", {"const": profile}),
         "then": {"allOf": [nested(key, {"type": "string", "minLength": 1}) for key in keys]}}
        for profile, keys in (rules_file().get("required") or {}).items()
    ]


def rule_for(path: str) -> dict | None:
    """The most specific rule matching a key path: one without wildcards first, then the longest."""
    best = None
    for pattern, schema in rules().items():
        if fnmatch.fnmatchcase(path, pattern):
            rank = (pattern.count("*") == 0, len(pattern))
            if best is None or rank > best[0]:
                best = (rank, schema)
    return None if best is None else best[1]


def infer(value, path: str) -> dict:
    rule = rule_for(path)
    if rule is not None:
        return rule
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, list):
        return {"type": "array", "items": infer(value[0], path + "[]") if value else {}}
    if isinstance(value, dict):
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": {k: infer(v, f"{path}.{k}" if path else k) for k, v in value.items()},
        }
    raise HarnessError(f"values.yaml key {path} has no default to infer a schema from", "give it a default")


def build_schema(values_path: Path = CHART_DIR / "values.yaml") -> dict:
    """Strict JSON schema of the chart's values: every key of values.yaml, nothing else."""
    values = yaml.safe_load(values_path.read_text())
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "title": "ms5-dashboard values"}
    schema.update(infer(values, ""))
    if required_by_profile():
        schema["allOf"] = required_by_profile()
    return schema


def schema_text() -> str:
    return json.dumps(build_schema(), indent=2) + "\n"


def write_schema() -> Path:
    SCHEMA_FILE.write_text(schema_text())
    return SCHEMA_FILE
