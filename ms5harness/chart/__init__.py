"""The MS5 Helm chart (manifests/helm/ms5-dashboard), one module per job:

- rendering     `helm template` / `helm lint` with a profile's values; every helm call (`helm()`), and
                Helm's errors as one line naming the values key path
- numbered      the plan's numbered files in manifests/k8s (write, drift)
- schema        values.schema.json from values.yaml and values.schema.rules.yaml
- permissions   which create/patch/delete rights the deploying identity lacks
- placeholders  the example values the numbered files carry, refused by `manifests check` and deploy

`from ms5harness import chart` gives what callers use; the CLI (`ms5harness manifests ...`,
`deploy`) is wired elsewhere.
"""

from __future__ import annotations

from ms5harness.chart.numbered import NUMBERED_PROFILE, numbered_drift, numbered_file, write_numbered
from ms5harness.chart.placeholders import placeholders
from ms5harness.chart.permissions import CLUSTER_SCOPED, check_permissions, missing_permissions, required_permissions
from ms5harness.chart.rendering import (
    AKS_API_VERSIONS, example_values, helm, helm_failure, image_registry, lint, parse_stream, render, set_args, template,
)
from ms5harness.chart.schema import build_schema, write_schema
from ms5harness.names import RELEASE
from ms5harness.paths import CHART_DIR, K8S_DIR, PROFILES, values_files

__all__ = [
    "AKS_API_VERSIONS", "CHART_DIR", "CLUSTER_SCOPED", "K8S_DIR", "NUMBERED_PROFILE", "PROFILES", "RELEASE",
    "build_schema", "check_permissions", "example_values", "helm", "helm_failure", "image_registry", "lint",
    "missing_permissions", "numbered_drift", "numbered_file", "parse_stream", "placeholders", "render", "required_permissions",
    "set_args", "template", "values_files",
    "write_numbered", "write_schema",
]
