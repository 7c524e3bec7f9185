# Shared by scripts/demo.sh and scripts/test.sh: create (or bring in line) a virtual environment holding
# exactly the lock file's packages, then lesionkit itself (editable).
# Usage: source scripts/_venv.sh VENV_DIR EXTRAS   (EXTRAS: test -> requirements/lock-test.txt; empty -> the
# core lock-core.txt; any other extra (all, model, ...) -> lock-all.txt, which holds every extra but test's tools)
# The locks pin torch to the CPU build (torch==2.13.0+cpu). GPU users swap it, e.g.
#   LESIONKIT_TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128" bash scripts/test.sh
# which installs the lock without its torch, then that spec with its own dependencies (CUDA libraries).
# Refresh the locks with scripts/lock.sh.
set -euo pipefail
venv_dir="$1"
extras="${2:-}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python_bin="${PYTHON:-python3}"
case ",$extras," in
  *,test,*) lock="$root/requirements/lock-test.txt" ;;
  ,,) lock="$root/requirements/lock-core.txt" ;;
  *) lock="$root/requirements/lock-all.txt" ;;
esac
if [ ! -x "$venv_dir/bin/python" ]; then
  "$python_bin" -m venv "$venv_dir"
fi
vpy="$venv_dir/bin/python"
keep=()
if [ -n "${LESIONKIT_TORCH_SPEC:-}" ] && grep -q '^torch==' "$lock"; then
  # The lock without its torch entry (the pin line and its hash lines, up to the next package).
  custom_lock="$(mktemp)"
  awk '/^[A-Za-z0-9]/ { skip = ($0 ~ /^torch==/) } !skip' "$lock" > "$custom_lock"
  lock="$custom_lock"
  keep=(--keep-tree-of torch)
fi
# Sync: uninstall what the lock does not name (other extras, stale dependencies), then install its exact pins.
mapfile -t extra_pkgs < <("$vpy" "$root/scripts/_lock_sync.py" "$lock" "${keep[@]}")
if [ ${#extra_pkgs[@]} -gt 0 ]; then
  "$vpy" -m pip uninstall --quiet --yes "${extra_pkgs[@]}"
fi
"$vpy" -m pip install --quiet --no-deps --require-hashes -r "$lock"
if [ ${#keep[@]} -gt 0 ]; then
  # shellcheck disable=SC2086
  "$vpy" -m pip install --quiet $LESIONKIT_TORCH_SPEC
fi
# lesionkit itself: its dependencies are the lock's, and setuptools (locked) builds it without a download.
"$vpy" -m pip install --quiet --no-deps --no-build-isolation -e "$root"
"$vpy" -m pip check >/dev/null || { "$vpy" -m pip check >&2; exit 1; }
