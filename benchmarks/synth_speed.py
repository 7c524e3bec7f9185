"""Speed of the synthetic cohort generator, per subject, at 1 mm and 2 mm.

Prints ONE JSON line with the seconds per subject of ``lesionkit.synth`` (generation + int16/uint8
NIfTI writing with gzip, i.e. what ``lesionkit synth`` does per subject) at 1 mm and at 2 mm, and as
the peer measured in the same run, the seconds nibabel alone takes to save the same two arrays;
``ratio_*`` = synth time / save time. The one-off head-model build (cached per process) is reported
separately and excluded from the per-subject numbers. Single thread.

    python benchmarks/synth_speed.py [--subjects 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np


def _time_resolution(resolution: float, n: int, seed: int, folder: Path) -> dict:
    from lesionkit.synth.anatomy import head_model
    from lesionkit.synth.cohort import _make_subject, _to_int16, cohort_profile, subject_seed
    from lesionkit.synth.subject import generate_subject

    start = time.perf_counter()
    head_model(resolution)
    build = time.perf_counter() - start
    profile = cohort_profile(seed, 1)
    synth, save = [], []
    for index in range(1, n + 1):
        start = time.perf_counter()
        _make_subject((str(folder / f"r{resolution:g}"), 1, index, seed, resolution, "mni", profile, False))
        synth.append(time.perf_counter() - start)
        # peer: nibabel saving the same arrays (regenerated untimed), same dtypes and compression
        subject = generate_subject(subject_seed(seed, 1, index), resolution, profile)
        t1w, mask = _to_int16(subject.t1w), subject.mask
        start = time.perf_counter()
        nib.save(nib.Nifti1Image(t1w, subject.affine), str(folder / "peer_t1w.nii.gz"))
        nib.save(nib.Nifti1Image(mask, subject.affine), str(folder / "peer_mask.nii.gz"))
        save.append(time.perf_counter() - start)
    return {"synth_s": statistics.median(synth), "save_s": statistics.median(save), "build_s": build}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    result: dict = {"benchmark": "synth_speed", "subjects": args.subjects}
    with tempfile.TemporaryDirectory() as tmp:
        for resolution in (1.0, 2.0):
            timing = _time_resolution(resolution, args.subjects, args.seed, Path(tmp))
            key = f"{resolution:g}mm"
            result[f"seconds_per_subject_{key}"] = round(timing["synth_s"], 3)
            result[f"nibabel_save_seconds_{key}"] = round(timing["save_s"], 3)
            result[f"ratio_{key}"] = round(timing["synth_s"] / timing["save_s"], 2)
            result[f"head_model_build_seconds_{key}"] = round(timing["build_s"], 2)
    result["numpy"] = np.__version__
    print(json.dumps(result))


if __name__ == "__main__":
    main()
