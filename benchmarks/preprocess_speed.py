"""Speed and accuracy of lesionkit's preprocessing against ANTsPy's defaults, on the same native scan.

Prints ONE JSON line with, for one synthetic native T1w with a known native → MNI transform:

* lesionkit: N4 (shrink 6, 50/50/30 iterations) + whole-sphere rigid search and affine registration + brain mask,
  as :func:`lesionkit.preprocess.preprocess_t1w` runs them;
* ANTsPy defaults: ``ants.n4_bias_field_correction(img)`` + ``ants.registration(template, img,
  type_of_transform="Affine")`` on the 1 mm template;

their times, the ratio ANTsPy / lesionkit, and the accuracy of both: the mean (and maximum) distance
between brain voxels mapped through the estimated and the true transform. For lesionkit also the Dice
of the lesion mask after the round trip native → MNI (nearest neighbour) → native (linear, ≥ 0.5).

Cases: ``--source synth`` (default) is a ``lesionkit.synth`` subject re-acquired on an oblique,
anisotropic native grid (its anatomy is the template moved by up to ±5 % scale and a few mm, plus a
small warp; ``registration_error`` is against the native → subject-MNI transform, the corrected one
adds the anatomy's affine part, exact up to the warp); ``--source template`` is the
template with a skull shell resampled through a pure affine (exact truth). ``--rotate DEG`` adds a
rotation of the head about the left-right axis (exact, by editing the affine: no resampling).

    python benchmarks/preprocess_speed.py [--source synth|template] [--rotate 60] [--seed 3] [--skip-ants]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import nibabel as nib
import numpy as np


def _rotation_x(degrees: float) -> np.ndarray:
    a = np.deg2rad(degrees)
    out = np.eye(4)
    out[1:3, 1:3] = [[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]
    return out


def _synth_case(seed: int):
    """A synth subject's native scan; truth = native → subject MNI image, and that image → template.

    The synth subject's anatomy is the template moved by a random affine (±5 % scale, ±3°, a few mm) and a
    small warp, which ``to_mni`` does not include; ``to_template`` (the ``AnatomyMatrix`` of the transform
    file) is the inverse of that affine, so ``to_template @ to_mni`` is the truth up to the residual warp.
    """
    from lesionkit.synth import generate_subject

    subject = generate_subject(seed, native=True)
    native = subject.native
    t1w = nib.Nifti1Image(np.asarray(native["t1w"], np.float32), native["affine"])
    mask = nib.Nifti1Image(np.asarray(native["mask"], np.uint8), native["affine"])
    return t1w, mask, np.asarray(native["to_mni"], float), np.asarray(native["to_template"], float)


def _template_case(seed: int):
    """The template + skull shell + a 12 mm lesion on a 0.9×0.9×3 mm LPS oblique grid (as tests/preprocess)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.preprocess.native_case import make_native_case

    case = make_native_case(seed=seed, lesion_radius=12.0)
    return case.t1w, case.mask, case.transform, None


def _brain_points(transform: np.ndarray, reference: nib.Nifti1Image) -> np.ndarray:
    from lesionkit.preprocess import template_brain_mask, to_native

    brain = np.asarray(to_native(template_brain_mask(), transform, reference, order=1).dataobj) >= 0.5
    ijk = np.argwhere(brain)
    return np.c_[ijk, np.ones(len(ijk))] @ reference.affine.T


def _errors(estimate: np.ndarray, truth: np.ndarray, points: np.ndarray) -> dict[str, float]:
    distance = np.linalg.norm((points @ estimate.T - points @ truth.T)[:, :3], axis=1)
    return {"mean_mm": round(float(distance.mean()), 3), "max_mm": round(float(distance.max()), 3)}


def _ours(t1w: nib.Nifti1Image) -> tuple[np.ndarray, dict[str, float]]:
    from lesionkit.preprocess import brain_mask_native, n4_bias_field, register_affine, reorient_to_ras

    seconds = {}
    start = time.perf_counter()
    image = reorient_to_ras(t1w)
    corrected, _ = n4_bias_field(image)
    seconds["n4"] = time.perf_counter() - start
    start = time.perf_counter()
    fit = register_affine(corrected)
    seconds["registration"] = time.perf_counter() - start
    start = time.perf_counter()
    brain_mask_native(fit.transform, image)
    seconds["brain_mask"] = time.perf_counter() - start
    return fit.transform, seconds


def _ants_default(t1w: nib.Nifti1Image) -> tuple[np.ndarray, dict[str, float]]:
    import ants

    from lesionkit.io import load_template
    from lesionkit.preprocess.ants_bridge import matrix_from_ants_transform, nib_to_ants

    seconds = {}
    start = time.perf_counter()
    corrected = ants.n4_bias_field_correction(nib_to_ants(t1w))
    seconds["n4"] = time.perf_counter() - start
    start = time.perf_counter()
    fit = ants.registration(fixed=nib_to_ants(load_template("t1")), moving=corrected, type_of_transform="Affine")
    transform = matrix_from_ants_transform(fit["fwdtransforms"][0])
    seconds["registration"] = time.perf_counter() - start
    return transform, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=("synth", "template"), default="synth")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--rotate", type=float, default=0.0, help="extra head rotation about x (degrees)")
    parser.add_argument("--skip-ants", action="store_true", help="time lesionkit only")
    args = parser.parse_args()

    from lesionkit.preprocess import to_mni, to_native

    t1w, mask, truth, anatomy = _synth_case(args.seed) if args.source == "synth" else _template_case(args.seed)
    if args.rotate:
        # Rotating the world frame of the scan is exact: new world = R · old world, so truth becomes truth · R⁻¹.
        rot = _rotation_x(args.rotate)
        t1w = nib.Nifti1Image(np.asarray(t1w.dataobj), rot @ t1w.affine)
        mask = nib.Nifti1Image(np.asarray(mask.dataobj), rot @ mask.affine)
        truth = truth @ np.linalg.inv(rot)
    # For synth cases the target of a template registration is the subject's anatomy moved onto the template
    # (exact up to the residual warp, see benchmarks/preprocess_accuracy.py).
    corrected = anatomy @ truth if anatomy is not None else None
    points = _brain_points(truth, t1w)
    zooms = [round(float(z), 3) for z in np.linalg.norm(t1w.affine[:3, :3], axis=0)]

    ours, ours_seconds = _ours(t1w)
    lesion = np.asarray(mask.dataobj) > 0
    back = np.asarray(to_native(to_mni(mask, ours, order=0), ours, mask, order=1).dataobj) >= 0.5
    dice = 2 * float((back & lesion).sum()) / max(float(back.sum() + lesion.sum()), 1.0)
    out = {
        "benchmark": "preprocess_speed",
        "case": {"source": args.source, "seed": args.seed, "rotate_deg": args.rotate, "shape": list(t1w.shape),
                 "voxel_mm": zooms, "orientation": "".join(nib.aff2axcodes(t1w.affine)),
                 "lesion_mm3": round(float(lesion.sum() * np.prod(zooms)), 1)},
        "lesionkit": {"seconds": round(sum(ours_seconds.values()), 2),
                      "steps": {k: round(v, 2) for k, v in ours_seconds.items()},
                      "registration_error": _errors(ours, truth, points), "lesion_round_trip_dice": round(dice, 4)},
    }
    if corrected is not None:
        out["lesionkit"]["registration_error_vs_anatomy_corrected_truth"] = _errors(ours, corrected, points)
    if not args.skip_ants:
        theirs, their_seconds = _ants_default(t1w)
        out["ants_default"] = {"seconds": round(sum(their_seconds.values()), 2),
                               "steps": {k: round(v, 2) for k, v in their_seconds.items()},
                               "registration_error": _errors(theirs, truth, points)}
        if corrected is not None:
            out["ants_default"]["registration_error_vs_anatomy_corrected_truth"] = _errors(theirs, corrected, points)
        out["speedup"] = round(out["ants_default"]["seconds"] / out["lesionkit"]["seconds"], 2)
    out["threads"] = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), "cpus": os.cpu_count(),
                      "machine": platform.machine()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
