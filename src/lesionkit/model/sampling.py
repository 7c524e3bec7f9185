"""Training crops: uniform random boxes (Tomita et al.) or lesion-aware boxes.

Uniform crops, as in the paper, spend most of a batch on healthy tissue because lesions fill ~1 % of
the brain; with ``lesion_fraction > 0`` that share of crops is instead centred (with jitter) on a lesion,
which matters when a CPU affords only a few thousand steps. The centre is a random lesion voxel
(``lesion_sampling="voxel"``: large lesions get most crops) or a random voxel of a random connected lesion
(``"lesion"``: every lesion equally often, so small lesions, the ones models miss, are seen as often as
large ones).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["crop_slices", "extract_crop", "round_up_crop"]


def round_up_crop(crop: Sequence[int], divisor: int) -> tuple[int, int, int]:
    """Round each crop side up to a multiple of the network's ``divisor`` (e.g. the paper's 172 → 176)."""
    return tuple(int(-(-int(c) // divisor) * divisor) for c in crop)  # type: ignore[return-value]


def crop_slices(
    shape: Sequence[int],
    crop: Sequence[int],
    rng: np.random.Generator,
    lesion_voxels: np.ndarray | None = None,
    lesion_fraction: float = 0.0,
    lesion_bounds: np.ndarray | None = None,
) -> tuple[slice, ...]:
    """Slices of one crop of size ``crop`` inside ``shape`` (sides larger than the volume start at 0).

    ``lesion_voxels`` is an ``(n, 3)`` array of lesion coordinates; with probability ``lesion_fraction``
    the crop is centred on one of them, shifted by up to a quarter of the crop so lesions are not
    always in the middle. ``lesion_bounds`` (offsets ``[0, …, n]`` of each lesion's rows in
    ``lesion_voxels``) makes every lesion equally likely instead of every voxel.
    """
    starts = []
    centred = lesion_voxels is not None and len(lesion_voxels) > 0 and rng.random() < lesion_fraction
    centre = None
    if centred and lesion_bounds is not None and len(lesion_bounds) > 1:
        lesion = int(rng.integers(len(lesion_bounds) - 1))
        centre = lesion_voxels[rng.integers(lesion_bounds[lesion], lesion_bounds[lesion + 1])]
    elif centred:
        centre = lesion_voxels[rng.integers(len(lesion_voxels))]
    for axis, (size, side) in enumerate(zip(shape, crop, strict=True)):
        room = size - side
        if room <= 0:
            starts.append(0)
        elif centre is None:
            starts.append(int(rng.integers(0, room + 1)))
        else:
            jitter = int(rng.integers(-(side // 4), side // 4 + 1))
            starts.append(int(np.clip(centre[axis] - side // 2 + jitter, 0, room)))
    return tuple(slice(s, s + c) for s, c in zip(starts, crop, strict=True))


def shift_slices(slices: tuple[slice, ...], shape: Sequence[int], offset: Sequence[int]) -> tuple[slice, ...]:
    """``slices`` moved by ``offset`` voxels, each axis's move cut short where it would leave ``shape``."""
    moved = []
    for s, size, step in zip(slices, shape, offset, strict=True):
        step = int(np.clip(step, -s.start, max(0, size - s.stop)))
        moved.append(slice(s.start + step, s.stop + step))
    return tuple(moved)


def extract_crop(volume: np.ndarray, slices: tuple[slice, ...], crop: Sequence[int], fill: float = 0.0) -> np.ndarray:
    """``volume[slices]`` padded with ``fill`` up to ``crop`` where the volume is smaller than the crop."""
    part = volume[slices]
    pad = [(0, int(c) - s) for c, s in zip(crop, part.shape, strict=True)]
    if any(after for _, after in pad):
        part = np.pad(part, pad, constant_values=fill)
    return part
