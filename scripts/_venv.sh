# Shared by scripts/demo.sh and scripts/test.sh: create a virtual environment and install lesionkit.
# Usage: source scripts/_venv.sh VENV_DIR EXTRAS   (EXTRAS: e.g. all, test; empty = the core install)
# PyTorch is installed first, pinned, so that pip never resolves a multi-GB CUDA build on a CPU box.
# GPU users override the spec, e.g.  LESIONKIT_TORCH_SPEC="torch==2.13.0 --index-url <cuda index>".
set -euo pipefail
venv_dir="$1"
extras="${2:-}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python_bin="${PYTHON:-python3}"
if [ ! -x "$venv_dir/bin/python" ]; then
  "$python_bin" -m venv "$venv_dir"
fi
"$venv_dir/bin/python" -m pip install --quiet --upgrade pip
case ",$extras," in  # only the extras that bring torch need the pin (the core install has no torch)
  *,test,* | *,all,* | *,model,* | *,synth,*)
    # shellcheck disable=SC2086
    "$venv_dir/bin/python" -m pip install --quiet ${LESIONKIT_TORCH_SPEC:-torch==2.13.0} ;;
esac
"$venv_dir/bin/python" -m pip install --quiet -e "$root${extras:+[$extras]}"
