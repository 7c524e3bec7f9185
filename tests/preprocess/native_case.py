"""Synthetic native T1w scans with a known native → MNI transform, built from the MNI template.

The template (+ a spherical lesion) is resampled onto an oblique, LPS-stored, optionally thick-slice
grid through a known affine with a large rotation, and a smooth bias field and noise are added, so
registration and round-trip accuracy can be measured against the truth.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import nibabel as nib
import numpy as np
from scipy import ndimage

from lesionkit.io import ATLAS_AFFINE, load_template


@dataclass
class NativeCase:
    t1w: nib.Nifti1Image
    mask: nib.Nifti1Image
    transform: np.ndarray  # RAS world native → MNI
    brain: np.ndarray  # bool brain voxels on the native grid (template GM+WM > 0.5 mapped through the truth)


@functools.lru_cache(maxsize=1)
def head_template() -> np.ndarray:
    """The (brain-only) template with CSF, skull and scalp shells around it, so scans look like whole heads."""
    from lesionkit.preprocess.brain_mask import template_brain_mask

    brain = np.asarray(template_brain_mask().dataobj, dtype=bool)
    distance = ndimage.distance_transform_edt(~brain)
    head = np.array(load_template("t1").dataobj, dtype=np.float32)
    head[(distance > 0) & (distance <= 3)] = 0.08  # CSF
    head[(distance > 3) & (distance <= 9)] = 0.03  # skull
    head[(distance > 9) & (distance <= 14)] = 0.65  # scalp fat
    return head


def rotation(degrees: tuple[float, float, float]) -> np.ndarray:
    ax, ay, az = np.deg2rad(degrees)
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def make_native_case(
    spacing: tuple[float, float, float] = (0.9, 0.9, 3.0),
    angles: tuple[float, float, float] = (35.0, -20.0, 50.0),
    scale: tuple[float, float, float] = (1.05, 0.95, 1.0),
    oblique: tuple[float, float, float] = (0.0, 12.0, 0.0),
    lesion_center_mni: tuple[float, float, float] = (28.0, -10.0, 18.0),
    lesion_radius: float = 9.0,
    seed: int = 0,
) -> NativeCase:
    """A head scan on an LPS-stored oblique grid; its native world is MNI moved by a large rotation."""
    rng = np.random.default_rng(seed)
    template = load_template("t1")
    mni_to_native = np.eye(4)
    mni_to_native[:3, :3] = rotation(angles) @ np.diag(scale)
    mni_to_native[:3, 3] = (12.0, -25.0, 8.0)
    transform = np.linalg.inv(mni_to_native)
    # Native grid: LPS storage (first two axes flipped), slightly oblique, centred on the head.
    direction = rotation(oblique) @ np.diag([-1.0, -1.0, 1.0])
    extent = np.array([190.0, 230.0, 200.0])
    shape = tuple(int(round(e / s)) for e, s in zip(extent, spacing, strict=True))
    linear = direction @ np.diag(spacing)
    centre_native = (mni_to_native @ np.array([0.0, -18.0, 15.0, 1.0]))[:3]
    affine = np.eye(4)
    affine[:3, :3] = linear
    affine[:3, 3] = centre_native - linear @ ((np.array(shape) - 1) / 2)
    pull = np.linalg.inv(ATLAS_AFFINE) @ transform @ affine

    def sample(volume: np.ndarray, order: int) -> np.ndarray:
        return ndimage.affine_transform(
            volume, pull[:3, :3], offset=pull[:3, 3], output_shape=shape, order=order, mode="constant"
        )

    image = sample(head_template(), 1)
    # The lesion: a CSF-dark sphere drawn in MNI and carried along.
    grid = np.indices(template.shape).reshape(3, -1).T
    world = grid @ ATLAS_AFFINE[:3, :3].T + ATLAS_AFFINE[:3, 3]
    sphere = (np.linalg.norm(world - np.array(lesion_center_mni), axis=1) <= lesion_radius).reshape(template.shape)
    lesion = sample(sphere.astype(np.float32), 1) >= 0.5
    image[lesion] *= 0.25
    gm_wm = np.asarray(load_template("gm").dataobj) + np.asarray(load_template("wm").dataobj)
    brain = sample(gm_wm.astype(np.float32), 1) >= 0.5
    # Smooth multiplicative bias across the field of view, then noise.
    idx = np.indices(shape, dtype=np.float32)
    bias = 1.0 + 0.25 * np.sin(idx[0] / shape[0] * np.pi) * np.cos(idx[2] / shape[2] * np.pi / 2)
    image = image * bias * 800.0 + rng.normal(0, 8.0, shape).astype(np.float32)
    image = np.clip(image, 0, None).astype(np.float32)
    return NativeCase(
        t1w=nib.Nifti1Image(image, affine),
        mask=nib.Nifti1Image(lesion.astype(np.uint8), affine),
        transform=transform,
        brain=brain,
    )
