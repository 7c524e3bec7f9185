"""Native ("space-orig") versions of a subject, with the true native → MNI transform.

ATLAS ships scans in the scanner's space before registration. This module re-acquires a generated
subject on an oblique, anisotropic grid: a rigid head pose (rotation up to 10°, translation up to
25 mm) relative to MNI, voxel axes tilted by up to 15° from the scanner axes, voxels such as
0.9×0.9×3 mm (thick slices are integrated over the slice profile, not just sampled), and for some
sites LPS-ordered voxel axes (a flipped affine). Scanner effects (bias, noise) are applied on the
native grid itself. With ``resolution=2`` (a test aid) the native voxels are scaled by 2 as well.

Transform file (``sub-X_ses-1_from-orig_to-MNI152NLin2009aSym_mode-image_xfm.json``)::

    {"FromSpace": "orig", "ToSpace": "MNI152NLin2009aSym",
     "Convention": "RAS+ world millimetres; p_MNI = Matrix @ [x, y, z, 1] for a native RAS point",
     "Matrix": [[r11, r12, r13, tx], [r21, ...], [r31, ...], [0, 0, 0, 1]],
     "AnatomyMatrix": [...],          # subject MNI world → template world (4×4)
     "NativeToTemplateMatrix": [...]} # AnatomyMatrix @ Matrix: native world → template world

``Matrix`` maps native world coordinates (those given by the native image's affine) to the world
coordinates of the subject's MNI-space image, exactly. To bring a native mask onto the MNI grid,
sample it at ``inv(A_native) @ inv(Matrix) @ A_mni @ ijk``.

The subject's anatomy is itself the template moved by a random affine (±5 % scale, ±3°, a few mm)
plus a small smooth warp (:mod:`lesionkit.synth.deform`). ``AnatomyMatrix`` is the inverse of that
affine part: it maps a point of the subject's MNI-space image to the template point it was drawn
from, up to the residual warp (mean displacement over brain voxels 0.8–1.2 mm, at most 3.3 mm, for
seeds 0–7 at 1 mm; ``benchmarks/preprocess_accuracy.py`` reports it per case).
``NativeToTemplateMatrix`` is therefore the truth a linear registration of the native scan to the
MNI template should find, exact up to that warp. Files
written before these keys existed have ``Matrix`` only; :func:`read_transform` reads either.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
from scipy.spatial.transform import Rotation

from lesionkit.synth.scanner import apply_scanner

__all__ = ["native_grid", "read_transform", "sample_world", "to_native", "transform_json"]


def _rotation(rng: np.random.Generator, max_deg: float) -> np.ndarray:
    axis = rng.standard_normal(3)
    axis /= np.linalg.norm(axis)
    return Rotation.from_rotvec(axis * np.deg2rad(rng.uniform(0.3 * max_deg, max_deg))).as_matrix()


def native_grid(
    rng: np.random.Generator,
    voxel: tuple[float, float, float],
    slice_axis: int,
    lps: bool,
    mni_corners: np.ndarray,
) -> tuple[np.ndarray, tuple[int, int, int], np.ndarray]:
    """Draw (native affine, native shape, native→MNI matrix) whose field of view covers ``mni_corners`` (N×3 mm)."""
    to_mni = np.eye(4)
    to_mni[:3, :3] = _rotation(rng, 10.0)
    to_mni[:3, 3] = rng.uniform(-25.0, 25.0, 3)
    tilt = _rotation(rng, 15.0)
    sizes = np.full(3, voxel[0])
    sizes[slice_axis] = voxel[2]
    # world points of the wanted field of view, in the native scanner frame, then in tilted voxel axes
    corners_native = (np.linalg.inv(to_mni) @ np.c_[mni_corners, np.ones(len(mni_corners))].T)[:3].T
    along = corners_native @ tilt  # coordinates along the tilted axes
    low, high = along.min(0), along.max(0)
    shape = tuple(int(np.ceil((h - lo) / s)) + 1 for lo, h, s in zip(low, high, sizes, strict=True))
    affine = np.eye(4)
    affine[:3, :3] = tilt * sizes  # column k = axis k direction × its voxel size
    affine[:3, 3] = tilt @ low
    if lps:  # store with voxel axes running right→left and anterior→posterior
        for axis in (0, 1):
            affine[:3, 3] += affine[:3, axis] * (shape[axis] - 1)
            affine[:3, axis] *= -1
    return affine, shape, to_mni  # type: ignore[return-value]


def _sampling_grid(vox: np.ndarray, in_shape: tuple[int, ...], shape: tuple[int, int, int]) -> np.ndarray:
    """grid_sample's ``(1, X, Y, Z, 3)`` float32 grid (align_corners=True) for the output → input voxel map ``vox``.

    Built in float64 with element-wise NumPy operations, cast once: every CPU rounds these the same way, unlike
    torch's affine_grid, a float32 batched matrix product whose last bits depend on the kernel the CPU picks
    (AVX-512, AVX2, plain), which flipped voxels of the native files between machines (issue 21)."""
    index = [np.arange(n, dtype=np.float64) for n in shape]
    grid = np.empty((1, *shape, 3), dtype=np.float32)
    for axis in range(3):  # input voxel axis `axis` is grid_sample's coordinate 2 - axis (x = last axis)
        a = vox[axis]
        coord = (a[0] * index[0])[:, None, None] + (a[1] * index[1])[None, :, None]
        coord = coord + (a[2] * index[2] + a[3])[None, None, :]
        np.multiply(coord, 2.0 / (in_shape[axis] - 1), out=coord)
        np.subtract(coord, 1.0, out=coord)
        grid[0, ..., 2 - axis] = coord
    return grid


def sample_world(volumes: np.ndarray, volume_affine: np.ndarray, grid_affine: np.ndarray,
                 shape: tuple[int, int, int], offsets: tuple[float, ...] = (0.0,), offset_axis: int = 2) -> np.ndarray:
    """Linearly sample ``volumes`` (one 3-D array or a ``(C, X, Y, Z)`` stack on ``volume_affine``) at the voxel
    centres of ``(grid_affine, shape)``, averaging ``offsets`` (fractions of a voxel along ``offset_axis``: a
    slice profile). Zero outside the volume."""
    import torch

    stack = volumes[None] if volumes.ndim == 3 else volumes
    data = torch.from_numpy(np.array(stack, dtype=np.float32))[None]
    total = torch.zeros((stack.shape[0], *shape), dtype=torch.float32)
    for offset in offsets:
        shift = np.eye(4)
        shift[offset_axis, 3] = offset
        vox = np.linalg.inv(volume_affine) @ grid_affine @ shift  # output voxel -> input voxel
        grid = torch.from_numpy(_sampling_grid(vox, stack.shape[1:], shape))
        total += torch.nn.functional.grid_sample(data, grid, mode="bilinear", padding_mode="zeros",
                                                 align_corners=True)[0]
    out = (total / len(offsets)).numpy()
    return out[0] if volumes.ndim == 3 else out


def to_native(
    rng: np.random.Generator, clean: np.ndarray, mask: np.ndarray, defaced: np.ndarray, affine: np.ndarray,
    profile, wm_level: float,  # noqa: ANN001 - ScannerProfile (kept loose to avoid an import cycle)
) -> dict:
    """Re-acquire the subject natively: returns ``t1w``, ``mask``, ``affine``, ``to_mni`` (native world → subject
    MNI world; the caller adds ``to_template``, subject MNI world → template world)."""
    head = np.argwhere(clean > 0.05 * wm_level)
    lo, hi = head.min(0) - 3, head.max(0) + 3
    corners = np.array([[a, b, c] for a in (lo[0], hi[0]) for b in (lo[1], hi[1]) for c in (lo[2], hi[2])], float)
    corners_mm = (affine @ np.c_[corners, np.ones(8)].T)[:3].T
    # test aid: on the 2 mm grid native voxels are scaled too (1.8×1.8×6 mm), keeping native/MNI detail alike
    scale = float(abs(affine[0, 0]))
    voxel = tuple(v * scale for v in profile.native_voxel)
    native_affine, shape, to_mni = native_grid(rng, voxel, profile.slice_axis, profile.native_lps, corners_mm)
    source_affine = np.linalg.inv(to_mni) @ affine  # MNI voxel -> native world
    # integrate thick slices over their profile (one sample per source voxel across the slice), not point-sample
    n_samples = max(1, int(round(profile.native_voxel[2] / profile.native_voxel[0])))
    offsets = tuple((np.arange(n_samples) + 0.5) / n_samples - 0.5)
    image, native_mask = sample_world(np.stack([clean, mask.astype(np.float32)]), source_affine, native_affine,
                                      shape, offsets, profile.slice_axis)
    native_mask = native_mask >= 0.5  # the same partial-volume rule as the MNI mask
    removed = sample_world(defaced.astype(np.float32), source_affine, native_affine, shape) >= 0.5
    flat = dataclasses.replace(profile, slice_thickness=1.0)  # the grid itself is thick; no extra blur
    t1w = apply_scanner(rng, image, flat, 1.0, wm_level)
    t1w[removed] = 0.0
    return {"t1w": t1w, "mask": native_mask.astype(np.uint8), "affine": native_affine, "to_mni": to_mni}


def _rows(matrix: np.ndarray) -> list[list[float]]:
    return [[round(float(v), 8) for v in row] for row in matrix]


def transform_json(to_mni: np.ndarray, to_template: np.ndarray | None = None) -> str:
    """The transform file's text (see the module docstring); ``to_template`` adds the anatomy keys."""
    record = {
        "FromSpace": "orig",
        "ToSpace": "MNI152NLin2009aSym",
        "Convention": "RAS+ world millimetres; p_MNI = Matrix @ [x, y, z, 1] for a native RAS point",
        "Matrix": _rows(to_mni),
    }
    if to_template is not None:
        record["AnatomyConvention"] = ("AnatomyMatrix: subject MNI world -> template world (the linear part of the "
                                       "subject's anatomy); NativeToTemplateMatrix = AnatomyMatrix @ Matrix")
        record["AnatomyMatrix"] = _rows(to_template)
        record["NativeToTemplateMatrix"] = _rows(np.asarray(to_template) @ np.asarray(to_mni))
    return json.dumps(record, indent=2) + "\n"


def read_transform(path, key: str = "Matrix") -> np.ndarray:  # noqa: ANN001
    """Read a 4×4 matrix written by :func:`transform_json`: ``Matrix`` (native → subject MNI, default),
    ``AnatomyMatrix`` or ``NativeToTemplateMatrix``."""
    with open(path, encoding="utf-8") as handle:
        return np.array(json.load(handle)[key], dtype=float)
