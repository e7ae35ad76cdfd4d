#!/usr/bin/env bash
# Everything a fresh machine needs before the harness runs (idempotent, quick when warm):
# host packages, the Python venvs with pinned deps, and the pinned Go binaries.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $EUID -ne 0 ]]; then
  echo "error: bootstrap installs host packages and runs a Kubernetes node (fix: run as root)" >&2
  exit 1
fi
# Go from the official tarball lives in /usr/local/go, on root's PATH but not always on a sudoer's.
command -v go >/dev/null || [[ ! -x /usr/local/go/bin/go ]] || export PATH=/usr/local/go/bin:$PATH
command -v go >/dev/null || { echo "error: Go is not installed (fix: install Go >= 1.25 from the Go toolchain packages)" >&2; exit 1; }

scripts/install-host-deps.sh

# Three venvs: the harness's, the backend's own (its pins, e.g. Celery's python-dateutil, conflict
# with the Kubernetes client's), and checkov's (the static suite's scanner; its pins conflict too).
venv() {  # dir, "files whose change means reinstall", pip args...: (re)install only when they change
  local dir=$1 inputs=$2 stamp
  shift 2
  [[ -x $dir/bin/python ]] || python3 -m venv "$dir"
  # shellcheck disable=SC2086  # $inputs is a list of paths
  stamp=$dir/.deps-$({ printf '%s ' "$@"; cat $inputs; } | sha256sum | cut -c1-12)
  if [[ ! -f $stamp ]]; then
    "$dir/bin/pip" install -q --disable-pip-version-check "$@"
    rm -f "$dir"/.deps-* && touch "$stamp"
  fi
}
venv .venv "pyproject.toml requirements.lock" -c requirements.lock -e .
venv backend/.venv "backend/requirements.txt backend/requirements-test.txt" \
  -r backend/requirements.txt -r backend/requirements-test.txt
venv .venv-checkov "requirements-checkov.txt requirements-checkov.lock" \
  -r requirements-checkov.txt -c requirements-checkov.lock

# Go binaries of the embedded cluster, helm and kube-score (cached outside the repo, keyed by version).
.venv/bin/ms5harness cluster build
