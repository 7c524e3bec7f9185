"""Native ("space-orig") versions of a subject, with the true native → MNI transform.

ATLAS ships scans in the scanner's space before registration. This module re-acquires a generated
subject on an oblique, anisotropic grid: a rigid head pose (rotation up to 10°, translation up to
25 mm) relative to MNI, voxel axes tilted by up to 15° from the scanner axes, voxels such as
0.9×0.9×3 mm (thick slices are integrated over the slice profile, not just sampled), and for some
sites LPS-ordered voxel axes (a flipped affine). Scanner effects (bias, noise) are applied on the
native grid itself.

Transform file (``sub-X_ses-1_from-orig_to-MNI152NLin2009aSym_mode-image_xfm.json``)::

    {"FromSpace": "orig", "ToSpace": "MNI152NLin2009aSym",
     "Convention": "RAS+ world millimetres; p_MNI = Matrix @ [x, y, z, 1] for a native RAS point",
     "Matrix": [[r11, r12, r13, tx], [r21, ...], [r31, ...], [0, 0, 0, 1]]}

``Matrix`` maps native world coordinates (those given by the native image's affine) to the world
coordinates of the subject's MNI-space image, exactly (the subject's residual nonlinear anatomy is
part of the MNI-space image, not of this transform). To bring a native mask onto the MNI grid,
sample it at ``inv(A_native) @ inv(Matrix) @ A_mni @ ijk``.
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


def sample_world(volume: np.ndarray, volume_affine: np.ndarray, grid_affine: np.ndarray,
                 shape: tuple[int, int, int], offsets: tuple[float, ...] = (0.0,), offset_axis: int = 2,
                 nearest: bool = False) -> np.ndarray:
    """Sample ``volume`` (on ``volume_affine``) at the voxel centres of ``(grid_affine, shape)``, averaging
    ``offsets`` (fractions of a voxel along ``offset_axis``: a slice profile). Zero outside."""
    import torch

    vox = np.linalg.inv(volume_affine) @ grid_affine
    axes = [np.arange(n, dtype=np.float32) for n in shape]
    data = np.ascontiguousarray(volume, dtype=np.float32)
    if not data.flags.writeable:
        data = data.copy()
    tensor = torch.from_numpy(data)[None, None]
    total = np.zeros(shape, dtype=np.float32)
    for offset in offsets:
        grid = np.empty((*shape, 3), dtype=np.float32)
        for out_axis in range(3):
            a = vox[out_axis]
            shift = a[offset_axis] * offset
            coord = (a[0] * axes[0][:, None, None] + a[1] * axes[1][None, :, None] + a[2] * axes[2][None, None, :]
                     + a[3] + shift)
            grid[..., 2 - out_axis] = coord * (2.0 / (volume.shape[out_axis] - 1)) - 1.0
        total += torch.nn.functional.grid_sample(
            tensor, torch.from_numpy(grid)[None], mode="nearest" if nearest else "bilinear",
            padding_mode="zeros", align_corners=True,
        )[0, 0].numpy()
    return total / len(offsets)


def to_native(
    rng: np.random.Generator, clean: np.ndarray, mask: np.ndarray, defaced: np.ndarray, affine: np.ndarray,
    profile, wm_level: float,  # noqa: ANN001 - ScannerProfile (kept loose to avoid an import cycle)
) -> dict:
    """Re-acquire the subject natively: returns ``t1w``, ``mask``, ``affine``, ``to_mni``."""
    head = np.argwhere(clean > 0.05 * wm_level)
    lo, hi = head.min(0) - 3, head.max(0) + 3
    corners = np.array([[a, b, c] for a in (lo[0], hi[0]) for b in (lo[1], hi[1]) for c in (lo[2], hi[2])], float)
    corners_mm = (affine @ np.c_[corners, np.ones(8)].T)[:3].T
    native_affine, shape, to_mni = native_grid(rng, profile.native_voxel, profile.slice_axis, profile.native_lps,
                                               corners_mm)
    source_affine = np.linalg.inv(to_mni) @ affine  # MNI voxel -> native world
    thick = profile.native_voxel[2] > 1.5
    offsets = (-1 / 3, 0.0, 1 / 3) if thick else (0.0,)
    image = sample_world(clean, source_affine, native_affine, shape, offsets, profile.slice_axis)
    native_mask = sample_world(mask, source_affine, native_affine, shape, offsets, profile.slice_axis) >= 0.5
    removed = sample_world(defaced.astype(np.float32), source_affine, native_affine, shape) >= 0.5
    flat = dataclasses.replace(profile, slice_thickness=1.0)  # the grid itself is thick; no extra blur
    t1w = apply_scanner(rng, image, flat, 1.0, wm_level)
    t1w[removed] = 0.0
    return {"t1w": t1w, "mask": native_mask.astype(np.uint8), "affine": native_affine, "to_mni": to_mni}


def transform_json(to_mni: np.ndarray) -> str:
    """The transform file's text (see the module docstring)."""
    return json.dumps({
        "FromSpace": "orig",
        "ToSpace": "MNI152NLin2009aSym",
        "Convention": "RAS+ world millimetres; p_MNI = Matrix @ [x, y, z, 1] for a native RAS point",
        "Matrix": [[round(float(v), 8) for v in row] for row in to_mni],
    }, indent=2) + "\n"


def read_transform(path) -> np.ndarray:  # noqa: ANN001
    """Read the 4×4 native → MNI matrix written by :func:`transform_json`."""
    with open(path, encoding="utf-8") as handle:
        return np.array(json.load(handle)["Matrix"], dtype=float)
