#!/usr/bin/env bash
# The test command: set up what is missing, then run every test.
#   1. the backend's tests, in its own venv, against real PostgreSQL/Redis/S3 on loopback;
#   2. unit, cluster, static and suite tests in one pytest run (brings the embedded
#      cluster up, or uses $MS5H_KUBECONFIG);
#   3. the verification suites against the deployed stack (pytest-xdist, one worker per core);
#   4. faults (tests/breakage, tests/chaos, tests/load, tests/nightly): one deliberate breakage per
#      suite must turn it red, then green after the rollback; the chaos experiments run as typed and
#      always roll back; the load meets the SLOs; a short nightly plan runs end to end; alone, since
#      the faults would fail the suites running beside them;
#   5. the destructive `cluster down` checks, last, on their own.
# Reports land in reports/<run id>/. Extra arguments go to the first pytest run.
set -uo pipefail
# Root is needed (host packages, a Kubernetes node); a sudoer is asked once, root goes straight on.
if [[ $EUID -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "error: needs root and sudo is not installed (fix: run it as root)" >&2; exit 1; }
  exec sudo --preserve-env=MS5H_KUBECONFIG,MS5H_RUN_ID,MS5H_REPORTS env "PATH=$PATH" "$0" "$@"
fi
cd "$(dirname "$0")/.."
scripts/bootstrap.sh || exit 1
# The tests run on two nodes, the nightly plan's shape (experiments/nightly.yaml `nodes:`): the stack
# spreads over them and the node experiments have a node to lose (tests/cluster/test_multinode.py grows
# the cluster to three and gives it back); whatever shape an earlier `cluster up --nodes N` left is reset.
if [[ -z ${MS5H_KUBECONFIG:-} ]]; then
  .venv/bin/ms5harness cluster up --nodes 2 || exit 1
fi

run_id=${MS5H_RUN_ID:-$(date -u +%Y%m%dT%H%M%SZ)}
out=reports/$run_id
mkdir -p "$out"
export MS5H_RUN_DIR=$PWD/$out  # evidence bundles and chaos journals land beside the JUnit files

pytest_run() {  # venv, name, args...: pytest exit 5 (nothing collected) counts as a failure
  local venv=$1 name=$2; shift 2
  "$venv/bin/pytest" --junitxml="$out/junit-$name.xml" "$@"
  local rc=$?
  if [[ $rc -eq 5 ]]; then echo "error: pytest ($name) collected no tests" >&2; rc=1; fi
  return $rc
}

pytest_run backend/.venv backend backend/tests
backend_rc=$?
pytest_run .venv main -m "not destructive and not faults" --durations=15 tests "$@"
main_rc=$?
# The verification suites against the stack the deploy tests left running.
pytest_run .venv suites -n auto suites
suites_rc=$?
pytest_run .venv faults -m faults --durations=0 tests/breakage tests/chaos tests/load tests/nightly
faults_rc=$?
if [[ -z ${MS5H_KUBECONFIG:-} ]]; then
  pytest_run .venv teardown -m destructive tests/teardown
  down_rc=$?
else
  down_rc=0
fi
echo "reports: $out"
.venv/bin/python -c "from pathlib import Path; from ms5harness.reports.html import write_report; print('html:', write_report(Path('$out'), 'MS5 harness tests $run_id'))"
[[ $backend_rc -eq 0 && $main_rc -eq 0 && $suites_rc -eq 0 && $faults_rc -eq 0 && $down_rc -eq 0 ]]
