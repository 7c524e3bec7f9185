#!/usr/bin/env bash
# Runs HERE (a machine that reaches PyPI), before the one GPU command: downloads into .whl/ the wheels that the
# GPU machine's image lacks for `lesionkit synth` and `lesionkit train`, for its Python 3.12 on manylinux x86_64
# (the recipe of the device README). scripts/gpu/train.sh installs them there; the device command names `.whl`
# in `carry`. `.whl/` is in the repository's .gitignore, so the wheels never get committed and travel only as
# the carried path (a checkout without that line needs `echo /.whl/ >> .git/info/exclude` first).
#
# Import chain, measured with `python -X importtime -m lesionkit synth ...` and a tracer of first imports over a
# 2 mm synth run and a 2-step `lesionkit train ... --export` (the GPU image has torch, numpy, scipy, pandas, rich,
# matplotlib, scikit-learn, joblib, lxml, requests, jinja2, tensorboard, packaging):
#   every command: lesionkit.io -> nibabel; lesionkit.core -> cc3d (connected-components-3d)
#   synth, and train's `template` channel: lesionkit.io.templates -> nilearn.datasets (the MNI152 2009a files are
#     inside nilearn's wheel; nilearn pulls scikit-learn, joblib, lxml, requests: all in the image)
#   train: lesionkit.model (losses, augmentation, sliding windows) -> monai (pulls matplotlib, tensorboard: image)
# Neither command imports dask, distributed or dask-jobqueue (the pipeline and challenge modules import them
# lazily already), so nothing was made lazy for this kit. Pinned to the versions the test suite ran with.
#
# Usage: bash scripts/gpu/wheels.sh            (PYTHON=... to use another interpreter with pip)
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
WHEELS=(nibabel==5.4.2 nilearn==0.14.1 monai==1.6.1 connected-components-3d==4.1.1)

rm -rf .whl
mkdir -p .whl
"$PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
  -d .whl "${WHEELS[@]}"
ls -l .whl
wheels=$(du -cb .whl/*.whl | tail -1 | cut -f1)
repo=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
echo "wheels: $((wheels / 1024)) KiB; tracked files: $((repo / 1024)) KiB; together $(((wheels + repo) / 1048576)) MiB" \
  "of the 64 MiB that may travel"
if (( wheels + repo > 48 * 1048576 )); then
  echo "wheels.sh: over 48 MiB: too close to the 64 MiB limit" >&2
  exit 1
fi
