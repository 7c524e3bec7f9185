#!/usr/bin/env bash
# The one device command of a session lent the GPU machine (one H200, 16 cores; 15 minutes of device time in all,
# machine start included; one command at most 10 minutes): synthesise a realistic training cohort on the 16 cores,
# train presets/gpu_realistic.toml under a wall-clock limit, calibrate threshold and minimum lesion size on the
# run's validation subjects (on the GPU), smoke-test the result with `lesionkit segment`, and leave in $OUT:
#   best.pt, final.pt  float32 training checkpoints (8 MB each)     model.pt  best.pt calibrated, float16 (4 MB)
#   log.csv, config.json  of the run                                timings.json  seconds per phase
#   train.log  everything the commands printed
# Beforehand, HERE: `bash scripts/gpu/wheels.sh` (fills the ignored .whl/). Then the device call is
#   run(command="bash scripts/gpu/train.sh", carry=[".whl"], timeout_s=590)
# On this CPU machine, at toy size (83 s measured on the loaded 2-core machine; no GPU needed):
#   PYTHON=/work/main/.venv-test/bin/python OUT=/tmp/gpuout bash scripts/gpu/train.sh --tiny
#
# Sizing (measured on the 2-core CPU machine, loaded by other jobs; `lesionkit synth --jobs 1`, 1 and 5 subjects):
# a realistic 1 mm subject costs 4.6 s of one core after a 13 s start-up per process (the head model is built
# once per worker). 16 workers: 13 s + 256 / 16 × 4.6 s = 87 s for SUBJECTS=256. At 2 mm (`--resolution 2`) a
# subject costs 0.1 s, but the model segments 1 mm scans block-averaged to 2 mm, so the training images are
# made the same way (1 mm, averaged by the loader), as for the shipped model. Loading a 1 mm case onto the 2 mm
# grid costs 0.57 s (one core): 256 cases on 12 loader threads, about 15-25 s. Calibration: about 2 s of CPU per
# validation case for the threshold × minimum-size grid, plus its GPU prediction; 16 cases (val_fraction 1/16).
# Budget of the whole command: TOTAL=480 s (8 min, inside the 590 s timeout and the 10-minute cap); training
# gets what is left after the synthesis minus EXPORT_RESERVE (the calibration, the smoke test and the copies).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

SUBJECTS=${SUBJECTS:-256}            # training subjects (3/4 realistic preset, 1/4 classic), 1 mm MNI
RESOLUTION=${RESOLUTION:-1}          # synth grid (mm); see the sizing note above before choosing 2
JOBS=${JOBS:-$(nproc)}               # synth worker processes
TOTAL=${TOTAL:-480}                  # seconds for the whole command
EXPORT_RESERVE=${EXPORT_RESERVE:-110}  # seconds kept for calibration, smoke test and copies
TIME_LIMIT=${TIME_LIMIT:-auto}       # training's --time-limit; auto = TOTAL - elapsed - EXPORT_RESERVE
PRESET=${PRESET:-src/lesionkit/model/presets/gpu_realistic.toml}
SEED=${SEED:-5000}                   # realistic cohort seed; the classic one is SEED + 1 (held-out sets: 4000, 2000)
WORK=${WORK:-/tmp/lesionkit_gpu}     # cohort and run (local disk)
TRAIN_ARGS=${TRAIN_ARGS:-}           # more `lesionkit train` flags, e.g. "--epochs 60" if timings.json shows room
PYTHON=${PYTHON:-python3}
OUT=${OUT:?set OUT to the folder the results go to}
TRAIN_FLAGS=()
TINY=0

if [[ "${1:-}" == "--tiny" ]]; then  # the same steps at toy size, on a CPU
  SUBJECTS=8 JOBS=2 TOTAL=240 EXPORT_RESERVE=90 TINY=1 WORK=/tmp/lesionkit_gpu_tiny
  TRAIN_FLAGS=(--epochs 2 --zoom-out-epochs 1 --steps-per-epoch 2 --batch-size 2 --crop 32 32 32
               --zoom-out-crop 48 48 48 --loader-threads 2)
fi

start=$(date +%s.%N)
now() { python3 -c "import time; print(round(time.time() - $start, 1))" 2>/dev/null || echo 0; }
mkdir -p "$OUT"
exec > >(tee "$OUT/train.log") 2>&1
declare -A T
phase() { T[$1]=$(now); echo "=== [$(now) s] $1"; }

phase install
if [[ $TINY == 0 ]]; then  # the wheels are for the GPU image's Python 3.12 (scripts/gpu/wheels.sh made them)
  compgen -G ".whl/*.whl" > /dev/null || { echo "train.sh: no .whl/*.whl: run scripts/gpu/wheels.sh, carry .whl"; exit 1; }
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || exit 1
  export PYTHONPATH=/tmp/site:$ROOT/src
else
  echo "--tiny: $PYTHON's own packages, no wheels"
  export PYTHONPATH=$ROOT/src
fi
export PYTHONUNBUFFERED=1
LK=("$PYTHON" -m lesionkit)
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
"$PYTHON" - <<EOF || exit 1
import sys, torch, numpy, monai, nibabel, cc3d
from nilearn import datasets  # the MNI template lives in nilearn's wheel
import lesionkit.model.train, lesionkit.synth  # noqa: F401  (the whole import chain, before any long step)
print(f"python {sys.version.split()[0]}, torch {torch.__version__}, CUDA {torch.cuda.is_available()}"
      f" ({torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'CPU'}), numpy {numpy.__version__},"
      f" monai {monai.__version__}, nibabel {nibabel.__version__}")
if not $TINY and not torch.cuda.is_available():
    sys.exit("train.sh: no CUDA device (use --tiny on a CPU)")
EOF

phase synth
DATA=$WORK/data RUN=$WORK/run
rm -rf "$WORK" && mkdir -p "$WORK"
classic=$((SUBJECTS / 4)) realistic=$((SUBJECTS - SUBJECTS / 4))
classic_jobs=$(( JOBS / 4 > 0 ? JOBS / 4 : 1 )) realistic_jobs=$(( JOBS - JOBS / 4 > 0 ? JOBS - JOBS / 4 : 1 ))
# both cohorts at once, workers in proportion (16 sites R001-R016, 4 classic sites R017-R020)
"${LK[@]}" synth "$DATA" --subjects "$realistic" --seed "$SEED" --resolution "$RESOLUTION" --preset realistic \
  --cohorts 16 --jobs "$realistic_jobs" --quiet & p1=$!
"${LK[@]}" synth "$DATA" --subjects "$classic" --seed $((SEED + 1)) --resolution "$RESOLUTION" --preset classic \
  --cohorts 4 --first-cohort 17 --jobs "$classic_jobs" --quiet & p2=$!
wait $p1 && wait $p2 || { echo "train.sh: synth failed"; exit 1; }

phase train
if [[ "$TIME_LIMIT" == auto ]]; then
  TIME_LIMIT=$(python3 -c "print(max(30, int($TOTAL - $(now) - $EXPORT_RESERVE)))")
fi
echo "training for at most $TIME_LIMIT s"
# hard cap too: a run that overshoots its limit must still leave time to copy what it wrote
timeout --signal=INT $((TIME_LIMIT + 60)) "${LK[@]}" train "$DATA" -o "$RUN" --config "$PRESET" \
  --time-limit "$TIME_LIMIT" --no-progress "${TRAIN_FLAGS[@]}" $TRAIN_ARGS
train_rc=$?
[[ -f "$RUN/log.csv" ]] && cat "$RUN/log.csv"
for f in best.pt final.pt log.csv config.json; do [[ -f "$RUN/$f" ]] && cp "$RUN/$f" "$OUT/"; done
if [[ ! -f "$RUN/best.pt" ]]; then  # interrupted before its end: the newest snapshot is the best we have
  last=$(ls "$RUN"/snapshot-*.pt 2>/dev/null | tail -1)
  [[ -n "$last" ]] && cp "$last" "$OUT/best.pt" && cp "$last" "$RUN/best.pt"
fi

phase calibrate
if [[ -f "$RUN/best.pt" ]]; then
  timeout $((EXPORT_RESERVE - 30)) "$PYTHON" - <<EOF
import torch
from lesionkit.model.export import export_model
if not torch.cuda.is_available():
    torch.set_num_threads(2)
out = export_model("$RUN/best.pt", "$OUT/model.pt", "$DATA", device="cuda" if torch.cuda.is_available() else None)
from lesionkit.model.checkpoint import read_checkpoint
print("calibration:", {k: v for k, v in read_checkpoint(out)["provenance"].get("calibration", {}).items() if k != "cases"})
EOF
fi

phase smoke
if [[ -f "$OUT/model.pt" ]]; then
  one=$(find "$DATA/Training" -name "*_T1w.nii.gz" | sort | head -1)
  timeout 60 "${LK[@]}" segment "$one" -o "$WORK/seg" --model "$OUT/model.pt" --no-qc --threads "$JOBS" \
    && cat "$WORK/seg/run.tsv"
fi

phase end
"$PYTHON" - <<EOF
import json, os
t = {k: float(v) for k, v in {$(for k in "${!T[@]}"; do printf '"%s": %s, ' "$k" "${T[$k]}"; done)}.items()}
order = sorted(t, key=t.get)
phases = {a: round(t[b] - t[a], 1) for a, b in zip(order, order[1:])}
import glob
n = len(glob.glob("$DATA/Training/*/sub-*/ses-1/anat/*_T1w.nii.gz"))
info = {"subjects": $SUBJECTS, "resolution_mm": $RESOLUTION, "jobs": $JOBS, "time_limit_s": $TIME_LIMIT,
        "train_exit_code": $train_rc, "phases_s": phases, "total_s": round(t["end"], 1),
        "synth_s_per_subject": round(phases.get("synth", 0) / $SUBJECTS, 3), "subjects_written": n}
json.dump(info, open("$OUT/timings.json", "w"), indent=1)
print(json.dumps(info))
EOF
ls -l "$OUT"
sleep 1  # let tee finish train.log
