"""The voxel order niivue works in, and the way back to a mask's own grid.

niivue reorients every volume to the nearest RAS voxel order when it loads it (``calculateRAS`` in niivue's
``ImageOrientation.ts``, a port of ``reorient()`` of dicm2nii's ``nii_viewer.m``): each voxel axis goes to
the world axis it points along most, flipped where it points the negative way, and no resampling is done
(oblique grids stay oblique). Its drawing bitmap is stored in that order, x fastest. This module replicates
niivue's rule exactly (the same greedy choice and the same tie-breaking, which is *not* always that of
``nibabel.io_orientation``) so that a drawing sent back by the browser lands on the mask's exact voxels.
The browser test checks the rule against the vendored niivue on a permuted, flipped and oblique affine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NiivueOrder", "from_niivue", "niivue_order", "to_niivue"]


@dataclass(frozen=True)
class NiivueOrder:
    """niivue's ``permRAS`` and ``dimsRAS`` for a grid: RAS axis ``w`` is voxel axis ``axes[w]``, reversed
    where ``flips[w]``."""

    axes: tuple[int, int, int]
    flips: tuple[bool, bool, bool]
    shape: tuple[int, int, int]
    """The grid's shape in niivue's order (``dimsRAS[1:4]``)."""

    @property
    def perm_ras(self) -> list[int]:
        """niivue's ``permRAS``: 1-based voxel axis per RAS axis, negative when flipped."""
        return [-(a + 1) if f else a + 1 for a, f in zip(self.axes, self.flips, strict=True)]


def niivue_order(affine: np.ndarray, shape: tuple[int, ...]) -> NiivueOrder:
    """The order niivue puts a volume of this ``affine`` and ``shape`` in (see the module docstring)."""
    a = np.asarray(affine, dtype=float)[:3, :3]
    r = np.abs(a)
    # For voxel axis 0 (column 0), the world axis it points along most; ties keep the lower world axis.
    x = 0
    if r[1, 0] > r[0, 0]:
        x = 1
    if r[2, 0] > r[0, 0] and r[2, 0] > r[1, 0]:
        x = 2
    # For voxel axis 1, the larger of the two world axes left; ties take the second one, as niivue does.
    left = [w for w in range(3) if w != x]
    y = left[0] if r[left[0], 1] > r[left[1], 1] else left[1]
    z = 3 - x - y
    world_of_voxel = (x, y, z)
    axes = tuple(world_of_voxel.index(w) for w in range(3))  # voxel axis shown along each world axis
    flips = tuple(bool(a[w, axes[w]] < 0) for w in range(3))
    dims = tuple(int(shape[axes[w]]) for w in range(3))
    return NiivueOrder(axes=axes, flips=flips, shape=dims)  # type: ignore[arg-type]


def to_niivue(data: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """A 3-D array in niivue's order (index ``[x, y, z]``; flatten with ``order="F"`` for its bitmap)."""
    order = niivue_order(affine, data.shape)
    out = np.transpose(data, order.axes)
    flipped = [w for w in range(3) if order.flips[w]]
    return np.flip(out, axis=flipped) if flipped else out


def from_niivue(data: np.ndarray, affine: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Back from niivue's order to the voxel order of the grid (``affine``, ``shape``); inverse of :func:`to_niivue`."""
    order = niivue_order(affine, shape)
    if tuple(data.shape) != order.shape:
        raise ValueError(f"expected an array of shape {order.shape} in niivue's order, got {tuple(data.shape)}")
    flipped = [w for w in range(3) if order.flips[w]]
    out = np.flip(data, axis=flipped) if flipped else data
    return np.transpose(out, np.argsort(order.axes))
