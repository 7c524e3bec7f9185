#!/usr/bin/env bash
# Creates .venv, installs lesionkit[all] and runs `lesionkit demo` (extra arguments are passed on).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/_venv.sh" "$root/.venv" "all"
"$root/.venv/bin/lesionkit" demo "$@"
