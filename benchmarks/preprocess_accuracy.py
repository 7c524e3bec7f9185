"""Registration accuracy of lesionkit's preprocessing on native scans with a known native → template transform.

Prints ONE JSON line: per case the mean and maximum registration error over brain voxels (distance
between each brain voxel mapped through the estimated and through the true transform), the lesion
round trip native → MNI (nearest neighbour) → native (linear, ≥ 0.5) Dice for the whole mask and for
each lesion of ≥ 1,000 mm³, the times of N4 and registration, and which start pose was kept; then the
mean and maximum over cases. With ``--ants`` also ANTsPy's default ``registration(type_of_transform=
"Affine")`` (after default N4) on every case, as the peer (its errors, and the time ratio).

Cases (``--cases``, comma separated; default the list below):

* ``synth:S`` — ``lesionkit.synth`` subject of seed ``S`` at 1 mm, re-acquired natively (oblique, up to
  10° head pose, the seed's scanner profile); ``synth:S:thick`` forces the 0.9×0.9×3 mm LPS profile;
  ``synth:S:DEG`` or ``synth:S:thick:DEG`` adds a rotation as for ``template`` cases.
  Truth: ``NativeToTemplateMatrix`` (native → subject MNI → template, the anatomy's affine part), exact up
  to the subject's residual smooth warp, whose mean size over brain voxels is reported per case.
* ``template:S[:DEG]`` — the template with a skull shell on a 0.9×0.9×3 mm LPS oblique grid, moved by
  a 35°/−20°/50° rotation and 5 % anisotropic scale (``tests/preprocess/native_case.py``; ``S`` seeds the
  noise), plus ``DEG`` degrees about the left–right axis (exact: only the affine changes). Exact truth.

    OMP_NUM_THREADS=2 python benchmarks/preprocess_accuracy.py [--cases ...] [--ants]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
from preprocess_speed import _brain_points, _errors, _rotation_x  # the sibling benchmark's: one error measure
from scipy import ndimage

DEFAULT_CASES = ("template:0,template:3,template:1:30,template:2:60,template:3:90,template:0:180,"
                 "synth:0,synth:3,synth:5:thick,synth:6,synth:7:thick,synth:1:90,synth:2:thick:180,synth:4:-45")


def residual_warp_mm(seed: int, resolution: float = 1.0) -> float:
    """Mean displacement (mm) of the synth subject's smooth warp beyond its affine part, over brain voxels."""
    from lesionkit.synth.anatomy import Tissue, grid_shape, head_model
    from lesionkit.synth.deform import random_deformation

    model = head_model(resolution)
    shape = grid_shape(resolution)
    # generate_subject draws the deformation first from default_rng(seed): the same draw here
    deformation = random_deformation(np.random.default_rng(seed), shape, model.affine)
    grid = deformation.grid
    template_voxel = np.stack([(grid[..., 2 - a] + 1) * (shape[a] - 1) / 2 for a in range(3)], -1).reshape(-1, 3)
    ijk = np.indices(shape).reshape(3, -1).T
    world = ijk @ model.affine[:3, :3].T + model.affine[:3, 3]
    linear = world @ np.linalg.inv(deformation.affine)[:3, :3].T + np.linalg.inv(deformation.affine)[:3, 3]
    drawn = template_voxel @ model.affine[:3, :3].T + model.affine[:3, 3]
    tissue = model.labels >> 5
    brain = ((tissue >= Tissue.CSF) & (tissue <= Tissue.INFRA_WM)).astype(np.float32)
    in_brain = ndimage.map_coordinates(brain, template_voxel.T, order=0) > 0
    return float(np.linalg.norm(drawn - linear, axis=1)[in_brain].mean())


def _synth_case(seed: int, thick: bool):
    from lesionkit.synth import ScannerProfile, generate_subject

    thick_lps = ScannerProfile(name="R009", native_voxel=(0.9, 0.9, 3.0), slice_axis=2, native_lps=True)
    profile = thick_lps if thick else None
    subject = generate_subject(seed, native=True, cohort_profile=profile)
    native = subject.native
    t1w = nib.Nifti1Image(np.asarray(native["t1w"], np.float32), native["affine"])
    mask = nib.Nifti1Image(np.asarray(native["mask"], np.uint8), native["affine"])
    extra = {"residual_warp_mean_mm": round(residual_warp_mm(seed), 3)}
    return t1w, mask, native["to_template"] @ native["to_mni"], extra


def _template_case(seed: int):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.preprocess.native_case import make_native_case

    case = make_native_case(seed=seed, lesion_radius=12.0)
    return case.t1w, case.mask, case.transform, {}


def make_case(spec: str):
    """(t1w, mask, true native → template matrix, extra facts) for a case name (see the module docstring)."""
    source, seed, *options = spec.split(":")
    rotate = float(next((o for o in options if o not in ("", "thick")), 0.0))
    if source == "synth":
        t1w, mask, truth, extra = _synth_case(int(seed), "thick" in options)
    elif source == "template":
        t1w, mask, truth, extra = _template_case(int(seed))
    else:
        raise SystemExit(f"unknown case {spec!r}")
    if rotate:
        # Rotating the scan's world frame is exact: new world = R · old world, so truth becomes truth · R⁻¹.
        rot = _rotation_x(rotate)
        t1w = nib.Nifti1Image(np.asarray(t1w.dataobj), rot @ t1w.affine)
        mask = nib.Nifti1Image(np.asarray(mask.dataobj), rot @ mask.affine)
        truth = truth @ np.linalg.inv(rot)
    return t1w, mask, truth, extra


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * float((a & b).sum()) / max(float(a.sum() + b.sum()), 1.0)


def round_trip(mask: nib.Nifti1Image, transform: np.ndarray) -> dict:
    """Dice of the native mask after native → MNI (nearest) → native (linear, ≥ 0.5), whole and per lesion ≥ 1 cm³."""
    from lesionkit.preprocess import to_mni, to_native

    lesion = np.asarray(mask.dataobj) > 0
    back = np.asarray(to_native(to_mni(mask, transform, order=0), transform, mask, order=1).dataobj) >= 0.5
    voxel_mm3 = float(abs(np.linalg.det(mask.affine[:3, :3])))
    labels, count = ndimage.label(lesion)
    per_lesion = []
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        one = labels[box] == index
        if one.sum() * voxel_mm3 < 1000:
            continue
        # the lesion's own neighbourhood: its box grown by a few voxels, other lesions left out
        grown = tuple(slice(max(0, s.start - 3), s.stop + 3) for s in box)
        mine = labels[grown] == index
        near = ndimage.binary_dilation(mine, iterations=3) & ~((labels[grown] > 0) & ~mine)
        per_lesion.append({"volume_mm3": round(float(one.sum() * voxel_mm3)),
                           "dice": round(_dice(mine, back[grown] & near), 4)})
    return {"dice": round(_dice(lesion, back), 4), "lesions_ge_1000mm3": per_lesion,
            "lesion_mm3": round(float(lesion.sum() * voxel_mm3), 1)}


def run_lesionkit(t1w: nib.Nifti1Image) -> tuple[object, dict[str, float]]:
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
    return fit, seconds


def run_ants_default(t1w: nib.Nifti1Image) -> tuple[np.ndarray, float]:
    import ants

    from lesionkit.io import load_template
    from lesionkit.preprocess.ants_bridge import matrix_from_ants_transform, nib_to_ants

    start = time.perf_counter()
    corrected = ants.n4_bias_field_correction(nib_to_ants(t1w))
    fit = ants.registration(fixed=nib_to_ants(load_template("t1")), moving=corrected, type_of_transform="Affine")
    return matrix_from_ants_transform(fit["fwdtransforms"][0]), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=DEFAULT_CASES, help="comma-separated case names (see the docstring)")
    parser.add_argument("--ants", action="store_true", help="also run ANTsPy's default N4 + affine on every case")
    args = parser.parse_args()

    rows = []
    for spec in args.cases.split(","):
        t1w, mask, truth, extra = make_case(spec)
        points = _brain_points(truth, t1w)
        fit, seconds = run_lesionkit(t1w)
        zooms = [round(float(z), 3) for z in np.linalg.norm(t1w.affine[:3, :3], axis=0)]
        row = {"case": spec, "voxel_mm": zooms, "orientation": "".join(nib.aff2axcodes(t1w.affine)), **extra,
               "error": _errors(fit.transform, truth, points),
               "start_error": _errors(fit.initial_transform, truth, points),
               "round_trip": round_trip(mask, fit.transform), "initialisation": fit.initialisation,
               "brain_ncc": fit.scores, "seconds": {k: round(v, 2) for k, v in seconds.items()}}
        if args.ants:
            theirs, their_seconds = run_ants_default(t1w)
            row["ants_default"] = {"error": _errors(theirs, truth, points), "seconds": round(their_seconds, 2)}
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)  # progress; the result is the one line on stdout

    means = np.array([r["error"]["mean_mm"] for r in rows])
    seconds = [sum(r["seconds"].values()) for r in rows]
    lesion_dice = [d["dice"] for r in rows for d in r["round_trip"]["lesions_ge_1000mm3"]]
    out = {
        "benchmark": "preprocess_accuracy",
        "cases": rows,
        "summary": {
            "n_cases": len(rows),
            "mean_error_mm": round(float(means.mean()), 3),
            "max_case_mean_error_mm": round(float(means.max()), 3),
            "max_error_mm": round(max(r["error"]["max_mm"] for r in rows), 3),
            "cases_mean_error_le_2mm": int((means <= 2.0).sum()),
            "lesions_ge_1000mm3": len(lesion_dice),
            "min_lesion_round_trip_dice": round(min(lesion_dice), 4) if lesion_dice else None,
            "seconds_n4_registration_brain_mask_mean": round(float(np.mean(seconds)), 2),
            "seconds_n4_registration_brain_mask_max": round(float(np.max(seconds)), 2),
        },
        "threads": {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), "cpus": os.cpu_count(),
                    "machine": platform.machine(), "load_average_at_end": [round(v, 2) for v in os.getloadavg()]},
    }
    if args.ants:
        theirs = np.array([r["ants_default"]["error"]["mean_mm"] for r in rows])
        out["summary"]["ants_default_mean_error_mm"] = round(float(theirs.mean()), 3)
        out["summary"]["ants_default_cases_mean_error_le_2mm"] = int((theirs <= 2.0).sum())
        out["summary"]["time_ratio_ants_over_lesionkit"] = round(
            sum(r["ants_default"]["seconds"] for r in rows) / sum(sum(r["seconds"].values()) for r in rows), 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
