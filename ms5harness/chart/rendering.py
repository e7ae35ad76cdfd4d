"""`helm template` and `helm lint` of the chart, and Helm's errors as one line.

Every helm call, the deploy's too, goes through `helm()`: bounded (ms5harness.tools.run), and a
failure names the values key or template that Helm rejected.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

import yaml

from ms5harness import tools
from ms5harness.cluster import versions
from ms5harness.errors import HarnessError
from ms5harness.names import RELEASE
from ms5harness.paths import CHART_DIR, values_files

KUBE_VERSION = versions.KUBERNETES.lstrip("v")
# Capabilities of the target cluster; helm template otherwise assumes only built-in APIs.
AKS_API_VERSIONS = ("secrets-store.csi.x-k8s.io/v1",)


# What the numbered files and the static tests render a profile with that its values file leaves to the
# deploy on purpose (AKS: where alerts go). `.invalid` (RFC 2606) never resolves: nothing is sent.
EXAMPLE_VALUES: dict[str, dict] = {
    "aks": {f"alertmanager.receivers.{name}.webhookUrl": f"https://alerts.example.invalid/{name}"
            for name in ("critical", "warning", "deadMan")},
}


def example_values(profile: str) -> dict:
    """--set values that stand in for a profile's deploy-time inputs ({} for a profile that needs none)."""
    return dict(EXAMPLE_VALUES.get(profile, {}))


def image_registry(profile: str) -> str:
    """Where the profile's pods pull project images from (global.imageRegistry)."""
    registry = yaml.safe_load((CHART_DIR / "values.yaml").read_text())["global"]["imageRegistry"]
    for path in values_files(profile):
        registry = (yaml.safe_load(path.read_text()).get("global") or {}).get("imageRegistry", registry)
    return registry


def set_args(set_values: dict | None) -> list[str]:
    args: list[str] = []
    for key, value in (set_values or {}).items():
        args += ["--set-json", f"{key}={json.dumps(value)}"]
    return args


_SCHEMA_LINE = re.compile(r"^\s*-\s*(?:at\s+)?'?(?P<path>/[^':]*|)'?:?\s*(?P<msg>.+)$")
# A combinator's own line ("allOf failed", 'Must validate "then" as "if" was valid'): its cause is the line below it.
_COMBINATOR = re.compile(r"(allOf|anyOf|oneOf|if-then|then)\b.*failed|Must validate|doesn't validate with", re.I)
_EMPTY = re.compile(r"minLength: got 0|length must be greater than or equal to 1", re.I)


def helm_failure(stderr: str, action: str) -> HarnessError:
    """One line from Helm's stderr, with a JSON-pointer path turned into the values key path."""
    lines = [ln.rstrip() for ln in stderr.strip().splitlines() if ln.strip()]
    if any("don't meet the specifications of the schema" in ln for ln in lines):
        problems = []
        for ln in lines:
            m = _SCHEMA_LINE.match(ln)
            if not m or ln.lstrip().startswith("Error:"):
                continue
            key = m.group("path").strip("/").replace("/", ".")
            msg = m.group("msg").strip()
            extra = re.search(r"additional propert(?:y|ies) '?([^'\s]+)'? (?:is |are )?not allowed", msg)
            if extra:
                key = f"{key}.{extra.group(1)}" if key else extra.group(1)
                msg = "unknown key"
            elif _COMBINATOR.search(msg):
                continue
            elif _EMPTY.search(msg):
                msg = "required (empty)"
            elif msg == "'not' failed":
                msg = "value not allowed (an image tag must be an exact version, never 'latest')" if key.endswith("tag") else "value not allowed"
            if re.fullmatch(r"'(allOf|if|then)' failed", msg):
                continue  # the wrapper of a profile's rules (values.schema.rules.yaml: profiles); its lines follow
            problems.append(f"{key or '(top level)'}: {msg}")
        if problems:
            return HarnessError(
                f"values rejected by the chart schema: {'; '.join(problems)}",
                "fix the key in the values file or --set (see manifests/helm/ms5-dashboard/values.yaml)",
            )
    errors = [ln for ln in lines if ln.startswith("Error:")] or lines[-1:] or ["no output"]
    text = errors[0].removeprefix("Error:").strip()
    m = re.search(r'error calling (?:fail|required): (.+)$', text)
    if m:
        text = m.group(1)
    return HarnessError(f"helm {action} failed: {text}", "see the chart templates under manifests/helm/ms5-dashboard")


def helm(kubeconfig: Path | None, *args: str, check: bool = True,
         seconds: float = tools.HELM_SECONDS) -> subprocess.CompletedProcess:
    """helm (against `kubeconfig`, when it talks to a cluster), bounded by `seconds`."""
    return tools.run("helm", kubeconfig, *args, check=check, seconds=seconds,
                     failure=lambda proc: helm_failure(proc.stderr, args[0]))


def template(
    profile: str,
    set_values: dict | None = None,
    *,
    release: str = RELEASE,
    values: Iterable[Path] = (),
    api_versions: Iterable[str] = (),
) -> str:
    """`helm template` of the chart with a profile's values; returns the YAML stream."""
    args = ["template", release, str(CHART_DIR), "--kube-version", KUBE_VERSION]
    for f in [*values_files(profile), *values]:
        args += ["-f", str(f)]
    for api in api_versions:
        args += ["--api-versions", api]
    return helm(None, *args, *set_args(set_values)).stdout


def render(profile: str, set_values: dict | None = None, **kwargs) -> list[dict]:
    """Every object the chart renders for a profile, in Helm's install order."""
    if profile == "aks":
        kwargs.setdefault("api_versions", AKS_API_VERSIONS)
    return parse_stream(template(profile, set_values, **kwargs))


def parse_stream(text: str) -> list[dict]:
    """The documents of a YAML stream, with libyaml's parser: a release's ~170 objects took the pure-Python
    one 3 s, and each deploy parses three such streams."""
    return [doc for doc in yaml.load_all(text, Loader=yaml.CSafeLoader) if doc]


def lint(profile: str, set_values: dict | None = None) -> str:
    args = ["lint", str(CHART_DIR), "--strict", "--kube-version", KUBE_VERSION]
    for f in values_files(profile):
        args += ["-f", str(f)]
    return tools.run("helm", None, *args, *set_args(set_values), seconds=tools.HELM_SECONDS,
                     failure=lambda proc: helm_failure(proc.stdout + proc.stderr, "lint")).stdout
