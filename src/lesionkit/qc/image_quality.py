"""Input-quality features of the T1w a model segmented: white-matter SNR, GM/WM contrast, effective slice thickness.

The model fails most where the scan is poor (noisy, flat contrast, thick slices resampled to 1 mm) and the
lesions small; these features measure the scan, next to the prediction features of
:mod:`lesionkit.qc.features`. Each reads the image on the template's grid (MNI, where the template's tissue
maps tell which voxels are surely white or grey matter) in well under a second at 1 mm:

* ``snr_wm``: the white-matter level over the noise. The level is the median intensity of the template's
  sure white matter (:attr:`~lesionkit.qc.regions.Regions.wm`: WM probability above 0.9, eroded by a voxel;
  voxels of the predicted lesion left out); the noise σ is the robust standard deviation (1.4826 · MAD) of a
  high-pass residual in those voxels, the voxel minus the mean of its six face neighbours, divided by
  √(7/6) (that residual's standard deviation for white noise of σ 1). It reads the synthetic generator's SNR
  (white-matter level over noise σ) to within about 10 % (``python benchmarks/qc_image_quality.py``; a little
  low above SNR 25, where tissue texture adds to the residual). Capped at :data:`MAX_SNR` (a noise-free image);
* ``gm_wm_contrast``: the median intensity of the template's sure grey matter (GM probability above 0.8)
  over the white-matter level. A T1w has grey darker than white (about 0.6–0.8 on research scans); closer to
  1 is flatter contrast, in which lesions are harder to see;
* ``slice_thickness_mm``: the effective slice thickness. A thick-slice acquisition resampled to the 1 mm grid
  is smooth along one axis. Along each axis the structure function ``V(k)`` (mean squared difference of voxels
  ``k`` apart, inside the template's brain away from its edge) gives the curvature ratio
  ``(V(5) − V(3)) / (V(3) − V(1))``: white noise adds the same constant to every ``V(k)`` and cancels, sharp
  detail gives about 1, a profile blurred into straight lines over 5 voxels up to 2. Each axis's ratio is
  divided by the template's own (anatomy is not isotropic), and the *anisotropy* is the largest of the three
  over their median
  (about 1 for an isotropic scan). :data:`THICKNESS_TABLE` turns it into millimetres: calibrated on the
  generator's head model acquired with slices of known thickness (``lesionkit.synth.randomize``'s Gaussian
  slice profile and linear resampling) along each axis, times the grid's voxel size. It ranks better than it
  measures: on ``benchmarks/qc_image_quality.py``'s 16 scans every 2.5–4.9 mm scan reads thicker (1.7–4.3 mm)
  than every isotropic one (1.0–1.2 mm), but a 4.9 mm scan can read 1.7 mm (on a noisy scan the blurred axis
  drowns). Interpolation by a registration or a warp blurs too, so a resampled 1 mm scan can read up to about
  1.5 mm. Where the native scan's voxel size is known (``lesionkit preprocess`` records
  ``input_voxel_size_mm`` in its ``reorient`` step), its largest voxel edge is used
  instead (:func:`recorded_slice_thickness`).

Without the template regions (a grid other than MNI's) or the image every value is NaN, but a recorded slice
thickness.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from lesionkit.core import bounding_box
from lesionkit.qc.regions import Regions

__all__ = [
    "IMAGE_FEATURES",
    "MAX_SNR",
    "THICKNESS_TABLE",
    "axis_curvature",
    "gm_wm_contrast",
    "image_quality",
    "recorded_slice_thickness",
    "slice_anisotropy",
    "thickness_from_anisotropy",
    "wm_snr",
]

#: The input-quality feature names, in the order ``qc.tsv`` lists them.
IMAGE_FEATURES = ("snr_wm", "gm_wm_contrast", "slice_thickness_mm")
#: The largest SNR reported (a noise-free image would read infinite).
MAX_SNR = 1000.0
#: (anisotropy, slice thickness in voxels): see the module docstring (``python benchmarks/qc_image_quality.py
#: --calibrate`` prints it).
THICKNESS_TABLE = ((1.022, 1.0), (1.166, 1.5), (1.265, 2.0), (1.382, 3.0), (1.423, 4.0), (1.465, 5.0), (1.492, 6.0))
#: Lags of the structure function.
_LAGS = (1, 3, 5)
NAN = float("nan")


def wm_snr(image: np.ndarray, wm: np.ndarray, exclude: np.ndarray | None = None) -> tuple[float, float]:
    """(white-matter level, SNR) of ``image`` in the voxels of ``wm`` (not in ``exclude``); NaN for both with
    fewer than 100 such voxels away from the volume's border."""
    keep = np.asarray(wm, bool) if exclude is None else np.asarray(wm, bool) & ~np.asarray(exclude, bool)
    box = bounding_box(keep, pad=1)
    if box is None:
        return NAN, NAN
    x = np.asarray(image[box], dtype=np.float32)
    inner = keep[box][1:-1, 1:-1, 1:-1]
    if np.count_nonzero(inner) < 100:
        return NAN, NAN
    c = x[1:-1, 1:-1, 1:-1]
    neighbours = (x[:-2, 1:-1, 1:-1] + x[2:, 1:-1, 1:-1] + x[1:-1, :-2, 1:-1] + x[1:-1, 2:, 1:-1]
                  + x[1:-1, 1:-1, :-2] + x[1:-1, 1:-1, 2:])
    residual = (c - neighbours / 6)[inner]
    level = float(np.median(c[inner]))
    sigma = 1.4826 * float(np.median(np.abs(residual - np.median(residual)))) / math.sqrt(7 / 6)
    if not level > 0:
        return level, NAN
    return level, min(level / sigma, MAX_SNR) if sigma > 0 else MAX_SNR


def gm_wm_contrast(image: np.ndarray, gm: np.ndarray, wm_level: float) -> float:
    """Median of ``image`` in ``gm`` over the white-matter level (NaN without either)."""
    if not (math.isfinite(wm_level) and wm_level > 0) or not np.any(gm):
        return NAN
    return float(np.median(np.asarray(image)[np.asarray(gm, bool)])) / wm_level


def axis_curvature(image: np.ndarray, region: np.ndarray, lags: Sequence[int] = _LAGS) -> np.ndarray:
    """Per axis, ``(V(c) − V(b)) / (V(b) − V(a))`` of the structure function ``V`` at ``lags`` ``(a, b, c)`` inside
    ``region`` (NaN where undefined): about 1 for sharp detail, more for a profile blurred along that axis."""
    region = np.asarray(region, bool)
    box = bounding_box(region)
    out = np.full(3, NAN)
    if box is None:
        return out
    x = np.asarray(image[box], dtype=np.float32)
    inside = region[box]
    for axis in range(3):
        n = x.shape[axis]
        v = []
        for k in lags:
            if n <= k:
                break
            lo = [slice(None)] * 3
            hi = [slice(None)] * 3
            lo[axis], hi[axis] = slice(0, n - k), slice(k, n)
            where = inside[tuple(lo)]
            if not where.any():
                break
            d = (x[tuple(hi)] - x[tuple(lo)])[where]
            v.append(float(np.mean(d.astype(np.float64) ** 2)))
        if len(v) == len(lags) and v[1] - v[0] > 0:
            out[axis] = (v[2] - v[1]) / (v[1] - v[0])
    return out


def slice_anisotropy(curvature: Sequence[float], reference: Sequence[float] | None = None) -> tuple[float, int]:
    """(anisotropy, the most blurred axis) from per-axis curvature ratios, each divided by ``reference``'s (the
    template's): the largest over the median; (NaN, -1) when any is undefined."""
    c = np.asarray(curvature, float)
    if reference is not None:
        c = c / np.asarray(reference, float)
    if not np.isfinite(c).all() or (c <= 0).any():
        return NAN, -1
    axis = int(np.argmax(c))
    return float(c[axis] / np.median(c)), axis


def thickness_from_anisotropy(anisotropy: float) -> float:
    """Slice thickness in voxels of :data:`THICKNESS_TABLE` (linear between its rows; 1 below its first row,
    extrapolated linearly above its last, at most 10)."""
    if not math.isfinite(anisotropy):
        return NAN
    a, t = np.array(THICKNESS_TABLE).T
    if anisotropy >= a[-1]:
        slope = (t[-1] - t[-2]) / (a[-1] - a[-2])
        return float(min(t[-1] + slope * (anisotropy - a[-1]), 10.0))
    return float(np.interp(anisotropy, a, t))


def recorded_slice_thickness(reorient: Mapping | None) -> float:
    """The native scan's largest voxel edge (mm) from the parameters of a preprocessing sidecar's ``reorient``
    step (``input_voxel_size_mm``); NaN without one."""
    sizes = (reorient or {}).get("input_voxel_size_mm")
    try:
        values = [float(s) for s in sizes]  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return NAN
    return max(values) if values and all(math.isfinite(v) and v > 0 for v in values) else NAN


def image_quality(
    image: np.ndarray | None,
    regions: Regions | None,
    *,
    exclude: np.ndarray | None = None,
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    recorded_thickness_mm: float = NAN,
) -> dict[str, float]:
    """The features of :data:`IMAGE_FEATURES` (see the module docstring). ``exclude``: voxels to leave out of the
    white-matter level and noise (the predicted lesion); ``recorded_thickness_mm``: the native scan's slice
    thickness, used instead of the estimate when finite."""
    out = dict.fromkeys(IMAGE_FEATURES, NAN)
    if math.isfinite(recorded_thickness_mm):
        out["slice_thickness_mm"] = float(recorded_thickness_mm)
    if image is None or regions is None:
        return out
    image = np.asarray(image, dtype=np.float32)
    if regions.wm is not None:
        level, snr = wm_snr(image, regions.wm, exclude)
        out["snr_wm"] = snr
        if regions.gm is not None:
            out["gm_wm_contrast"] = gm_wm_contrast(image, regions.gm, level)
    if not math.isfinite(recorded_thickness_mm) and regions.brain is not None:
        anisotropy, axis = slice_anisotropy(axis_curvature(image, regions.brain & ~regions.edge),
                                            regions.template_curvature)
        if axis >= 0:
            out["slice_thickness_mm"] = thickness_from_anisotropy(anisotropy) * float(spacing[axis])
    return out
