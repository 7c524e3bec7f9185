"""What a real research T1w measures, for calibrating ``lesionkit.synth``'s ``calibrated`` acquisitions.

On pycortex's real healthy head ``S1`` (BSD-2, 1 mm, native and after ``lesionkit preprocess``) it measures:

* white-matter SNR by a local-residual estimator (the standard deviation of the image minus its 3³ mean, inside
  the eroded bright-tissue mask, against that tissue's mean; S1's background is masked to zero, so the usual
  air-noise estimate is impossible). The estimator also reads anatomy's texture, so it is calibrated in the same
  run: the MNI template (nearly noise-free) acquired by ``apply_acquisition`` at known SNRs (1 mm, no bias,
  gamma 1) is measured the same way, and S1's nominal SNR is read off that curve;
* the grey/white intensity ratio in MNI space (template GM > 0.75 against WM > 0.95, eroded), beside the
  template's own.

Prints one JSON line.

    python benchmarks/acquisition_calibration.py --s1-raw S1_raw.nii.gz --s1-mni S1_MNI_T1W
"""

from __future__ import annotations

import argparse
import json

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi

KNOWN_SNR = (8.0, 12.0, 16.0, 24.0, 40.0)


def local_residual_snr(image: np.ndarray) -> float:
    """Mean over standard deviation of the high-pass residual inside the bright (white-matter) tissue."""
    image = image.astype(np.float32)
    local = ndi.uniform_filter(image, 5)
    low, high = np.percentile(image[image > 0.08 * image.max()], [60, 95])
    tissue = ndi.binary_erosion((local > low) & (local < high), iterations=2)
    residual = image - ndi.uniform_filter(image, 3)
    return float(image[tissue].mean() / (residual[tissue].std() * np.sqrt(27 / 26)))


def grey_white_ratio(image: np.ndarray) -> float:
    from lesionkit.io.templates import load_template

    wm = ndi.binary_erosion(np.asanyarray(load_template("wm").dataobj) > 0.95, iterations=2)
    gm = np.asanyarray(load_template("gm").dataobj) > 0.75
    return float(np.median(image[gm]) / np.median(image[wm]))


def estimator_curve() -> list[tuple[float, float]]:
    """(nominal SNR, estimated SNR) of the template acquired at :data:`KNOWN_SNR`."""
    from lesionkit.io.templates import load_template
    from lesionkit.synth.randomize import Acquisition, apply_acquisition

    template = np.asanyarray(load_template("t1").dataobj).astype(np.float32)
    wm_level = float(np.median(template[np.asanyarray(load_template("wm").dataobj) > 0.95]))
    curve = []
    for index, snr in enumerate(KNOWN_SNR):
        acquisition = Acquisition(tissue_gain=(1.0,) * 7, lesion_gain=1.0, gamma=1.0, bias_strength=0.0, snr=snr,
                                  rician=True, slice_thickness=1.0, slice_axis=2, bits8=False, intensity_scale=1000.0)
        acquired = apply_acquisition(np.random.default_rng(index), template, acquisition, 1.0, wm_level)
        acquired[template <= 0] = 0.0
        curve.append((snr, local_residual_snr(acquired)))
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--s1-raw", required=True, help="S1's native T1w (benchmarks/real_healthy.py fetches it)")
    parser.add_argument("--s1-mni", required=True, help="S1 after lesionkit preprocess (MNI152NLin2009aSym)")
    args = parser.parse_args()
    from lesionkit.io.templates import load_template

    curve = estimator_curve()
    measured = local_residual_snr(np.asanyarray(nib.load(args.s1_raw).dataobj))
    nominal, estimated = zip(*curve, strict=True)
    order = np.argsort(estimated)
    s1_nominal = float(np.interp(measured, np.asarray(estimated)[order], np.asarray(nominal)[order]))
    print(json.dumps({
        "benchmark": "acquisition_calibration",
        "s1_wm_snr_estimate": round(measured, 1),
        "s1_wm_snr_nominal": round(s1_nominal, 1),
        "estimator_curve": [{"nominal": n, "estimate": round(e, 1)} for n, e in curve],
        "s1_grey_white": round(grey_white_ratio(np.asanyarray(nib.load(args.s1_mni).dataobj)), 3),
        "template_grey_white": round(grey_white_ratio(np.asanyarray(load_template("t1").dataobj)), 3),
    }))


if __name__ == "__main__":
    main()
