#!/usr/bin/env bash
# Creates (or brings in line) .venv-test with exactly requirements/lock-test.txt plus lesionkit (editable) and
# runs the test suite. Extra arguments go to pytest (e.g. `-m slow` for the end-to-end tests).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# System packages the challenge-server tests use (a real PostgreSQL server, headless chromium), on Debian.
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
source "$root/scripts/_venv.sh" "$root/.venv-test" "test"
cd "$root"
"$root/.venv-test/bin/ruff" check src tests benchmarks
# Default suite (not slow), then the quick end-to-end subset (ci_slow).
"$root/.venv-test/bin/python" -m pytest -n 2 -q "$@"
# pytest exits 5 when no test carries the marker; that is not a failure of the subset.
"$root/.venv-test/bin/python" -m pytest -q -m "ci_slow" "$@" || [ $? -eq 5 ]
# Another CPU's code path: torch's plain (non-SIMD) kernels, as on a machine without AVX2. The golden and
# reproducibility tests must hold there too (issue 21); the synth and model tests are the ones that could tell.
ATEN_CPU_CAPABILITY=default "$root/.venv-test/bin/python" -m pytest -n 2 -q tests/synth tests/model "$@"
