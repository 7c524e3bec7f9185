"""How well the QC's input-quality features read synthetic scans of known SNR and slice thickness (one JSON line).

Generates ``--subjects`` subjects of the ``realistic`` preset with the broad (``wide``) acquisitions (SNR 5–40,
2–6 mm slices for half of them) at 1 mm from ``--seed``, and compares ``lesionkit.qc.image_quality``'s
``snr_wm`` and ``slice_thickness_mm`` with the SNR and slice thickness the generator drew (each subject's
``acquisition``): the SNR's median and largest relative error, the thickness read on isotropic and on
thick-slice subjects, and the seconds the three features take per subject.

    python benchmarks/qc_image_quality.py [--subjects 16] [--seed 500]
    python benchmarks/qc_image_quality.py --calibrate     # the THICKNESS_TABLE of lesionkit.qc.image_quality

``--calibrate`` acquires the generator's head model, warped by one random deformation of the ``realistic``
preset (its interpolation blurs a little, as every subject's does), with slices of 1–6 mm along each axis
(``lesionkit.synth.randomize``'s slice profile and resampling, no noise) and prints the mean anisotropy per
thickness: the table's rows.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np


def _calibrate(seed: int) -> dict:
    from lesionkit.io import ATLAS_AFFINE
    from lesionkit.qc.image_quality import axis_curvature, slice_anisotropy
    from lesionkit.qc.regions import template_regions
    from lesionkit.synth.anatomy import head_model
    from lesionkit.synth.deform import random_deformation, warp
    from lesionkit.synth.randomize import _thick_slices

    model = head_model(1.0)
    rng = np.random.default_rng(seed)
    deformation = random_deformation(rng, model.t1.shape, model.affine, scale=0.10, rotation_deg=6.0,
                                     displacement_mm=4.0)
    clean = (warp(model.t1, deformation) / model.wm_level).astype(np.float32)
    regions = template_regions(ATLAS_AFFINE, clean.shape)
    interior = regions.brain & ~regions.edge
    table = {}
    for thickness in (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0):
        values = []
        for axis in range(3):
            image = clean if thickness == 1.0 else _thick_slices(clean, thickness, axis, 1.0, float(rng.random()))
            values.append(slice_anisotropy(axis_curvature(image, interior), regions.template_curvature)[0])
            if thickness == 1.0:
                break  # isotropic: every axis alike
        table[f"{thickness:g}"] = round(float(np.mean(values)), 3)
    return {"benchmark": "qc_image_quality", "calibrate": True, "seed": seed, "anisotropy_by_thickness_mm": table}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=16)
    parser.add_argument("--seed", type=int, default=500)
    parser.add_argument("--calibrate", action="store_true", help="print the thickness table's rows instead")
    args = parser.parse_args()
    if args.calibrate:
        print(json.dumps(_calibrate(args.seed)))
        return

    from lesionkit.io import ATLAS_AFFINE
    from lesionkit.qc.image_quality import image_quality
    from lesionkit.qc.regions import template_regions
    from lesionkit.synth.options import REALISTIC
    from lesionkit.synth.subject import generate_subject

    options = dataclasses.replace(REALISTIC, acquisition="wide")
    regions = None
    rows = []
    for i in range(args.subjects):
        subject = generate_subject(args.seed + i, 1.0, options=options)
        regions = regions or template_regions(ATLAS_AFFINE, subject.t1w.shape)
        start = time.perf_counter()
        quality = image_quality(subject.t1w, regions, exclude=subject.mask > 0)
        seconds = time.perf_counter() - start
        acquisition = subject.acquisition
        rows.append({"seed": args.seed + i, "snr": round(acquisition["snr"], 1), "snr_wm": round(quality["snr_wm"], 1),
                     "slice_thickness": round(acquisition["slice_thickness"], 2),
                     "slice_thickness_mm": round(quality["slice_thickness_mm"], 2),
                     "gm_wm_contrast": round(quality["gm_wm_contrast"], 3), "seconds": round(seconds, 2)})
    error = np.array([r["snr_wm"] / r["snr"] - 1 for r in rows])
    iso = [r["slice_thickness_mm"] for r in rows if r["slice_thickness"] <= 1.0]
    thick = [(r["slice_thickness"], r["slice_thickness_mm"]) for r in rows if r["slice_thickness"] > 1.0]
    print(json.dumps({
        "benchmark": "qc_image_quality", "subjects": len(rows), "seed": args.seed, "acquisition": "wide",
        "snr_relative_error": {"median": round(float(np.median(error)), 3),
                               "median_abs": round(float(np.median(np.abs(error))), 3),
                               "max_abs": round(float(np.abs(error).max()), 3)},
        "thickness_read_isotropic_mm": {"n": len(iso), "median": round(float(np.median(iso)), 2) if iso else None,
                                        "max": max(iso) if iso else None},
        "thickness_true_vs_read_mm": thick,
        "seconds_per_subject_median": round(float(np.median([r["seconds"] for r in rows])), 2),
        "rows": rows,
    }))


if __name__ == "__main__":
    main()
