#!/usr/bin/env bash
# The main job: the nightly resilience pipeline against the embedded cluster
# (or $MS5H_KUBECONFIG). Report: reports/nightly-<time>/report.html.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/ms5harness nightly "$@"
