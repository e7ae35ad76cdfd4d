#!/usr/bin/env bash
# The main job: the nightly resilience pipeline against the embedded cluster
# (or $MS5H_KUBECONFIG). Report: reports/nightly-<time>/report.html.
set -euo pipefail
# Root is needed (host packages, a Kubernetes node); a sudoer is asked once, root goes straight on.
if [[ $EUID -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "error: needs root and sudo is not installed (fix: run it as root)" >&2; exit 1; }
  exec sudo --preserve-env=MS5H_KUBECONFIG,MS5H_RUN_ID,MS5H_REPORTS env "PATH=$PATH" "$0" "$@"
fi
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/ms5harness nightly "$@"
