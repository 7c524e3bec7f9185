"""Surface (boundary) voxels and the distances between two surfaces, in mm.

Definitions (the same as MONAI's ``compute_hausdorff_distance`` / ``compute_average_surface_distance``
with Euclidean distance and ``spacing``, checked to 1e-4 in the tests):

* The **boundary** of a mask is the set of its voxels with at least one face neighbour (6-connectivity)
  outside the mask or outside the array: ``mask XOR binary_erosion(mask)`` with scipy's default cross.
* The **directed distance** of a boundary voxel of A to B is the Euclidean distance, in mm (voxel index
  times spacing per axis), to the nearest boundary voxel of B.
* **HD** is the larger of the two directed maxima; **HD95** the larger of the two directed 95th
  percentiles (linear interpolation, as ``numpy.percentile`` and ``torch.quantile``); **ASSD** the mean
  of both directions' distances pooled.
* One mask empty: every distance is ``inf``. Both empty: 0 (nothing to disagree about).

Speed: no distance transform over the box around both masks (what DeepMind's ``surface_distance`` and
a cropped ``scipy.ndimage.distance_transform_edt`` do; ~30 ms on a lesion plus a distant false
positive). The nearest boundary voxel is looked up on the grid among offsets sorted by length, and the
few voxels with nothing within four voxels go to a k-d tree over boundary voxels (MONAI's CPU method).
Cost follows the number of boundary voxels, not the space between a lesion and a far-away speck.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from scipy.spatial import cKDTree

from lesionkit.metrics.lesions import independent_boxes

__all__ = ["SurfaceDistances", "boundary", "summarize_distances", "surface_distances"]

#: ``(pred_to_truth, truth_to_pred)``: directed distances in mm of each boundary voxel.
SurfaceDistances = tuple[np.ndarray, np.ndarray]


def boundary(mask: np.ndarray) -> np.ndarray:
    """Boundary voxels of a boolean mask: the mask minus its 6-neighbour erosion (outside = background)."""
    mask = np.asarray(mask, dtype=bool)
    inner = mask.copy()
    for axis in range(mask.ndim):
        lo = [slice(None)] * mask.ndim
        hi = [slice(None)] * mask.ndim
        lo[axis], hi[axis] = slice(None, -1), slice(1, None)
        inner[tuple(hi)] &= mask[tuple(lo)]  # the neighbour at index - 1 must be lesion
        inner[tuple(lo)] &= mask[tuple(hi)]  # ... and the one at index + 1
        edge = [slice(None)] * mask.ndim
        for end in (0, -1):  # beyond the array is background
            edge[axis] = end
            inner[tuple(edge)] = False
    return mask & ~inner


#: Radii, in voxels of the finest axis, of the neighbourhoods searched on the grid before the k-d tree.
_GRID_RADII = (2.0, 3.0, 4.0)
#: Largest (points × offsets) gather done at once: ~40 MB of indices.
_GATHER_LIMIT = 5_000_000


@functools.lru_cache(maxsize=16)
def _offsets(scale: tuple[float, ...], inner_mm: float, outer_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Integer offsets with ``inner_mm < length <= outer_mm`` (physical), sorted by length: (offsets, lengths)."""
    half = [int(np.ceil(outer_mm / s)) for s in scale]  # ceil: never lose an offset to rounding (2.8/0.7 < 4)
    grid = np.stack(np.meshgrid(*[np.arange(-h, h + 1) for h in half], indexing="ij"), axis=-1).reshape(-1, len(half))
    length = np.sqrt(((grid * np.asarray(scale)) ** 2).sum(axis=1))
    keep = (length <= outer_mm) & ((length > inner_mm) if inner_mm >= 0 else True)
    order = np.argsort(length[keep], kind="stable")
    return grid[keep][order], length[keep][order]


def _pad_width(scale: tuple[float, ...]) -> tuple[int, ...]:
    """Voxels of background needed around a grid so every offset of :func:`_offsets` stays inside it."""
    outer = _GRID_RADII[-1] * min(scale)
    return tuple(int(np.ceil(outer / s)) for s in scale)


def _nearest(points: np.ndarray, target: np.ndarray, target_points: np.ndarray, scale: tuple[float, ...]) -> np.ndarray:
    """Exact distance (mm) from each voxel of ``points`` to the nearest True voxel of ``target``.

    ``points`` and ``target_points`` are flat indices into the padded grid ``target`` (padded by
    :func:`_pad_width`). Most boundary voxels have a target within a few voxels, so offsets sorted by
    length are tried on the grid first, ring by ring (the first hit is the nearest); only voxels
    farther than the last ring go to a k-d tree. Every step is exact.
    """
    strides = np.array(target.strides) // target.itemsize
    flat = target.ravel()
    out = np.full(len(points), np.inf)
    todo = np.arange(len(points))
    inner = -1.0
    for radius in _GRID_RADII:
        offsets, lengths = _offsets(scale, inner, radius * min(scale))
        inner = radius * min(scale)
        steps = offsets @ strides
        missed = []
        n_chunks = todo.size * len(steps) // _GATHER_LIMIT + 1  # bounded memory
        for chunk in (todo,) if n_chunks == 1 else np.array_split(todo, n_chunks):
            hits = flat[points[chunk, None] + steps[None, :]]
            first = hits.argmax(axis=1)
            found = hits[np.arange(len(chunk)), first]
            out[chunk[found]] = lengths[first[found]]
            missed.append(chunk[~found])
        todo = np.concatenate(missed)
        if todo.size == 0:
            return out

    def coordinates(flat_index: np.ndarray) -> np.ndarray:
        return np.stack(np.unravel_index(flat_index, target.shape), axis=1) * np.asarray(scale)

    # leafsize 32 and no balancing: one batched query per tree, so a cheap build pays off.
    tree = cKDTree(coordinates(target_points), leafsize=32, balanced_tree=False)
    out[todo] = tree.query(coordinates(points[todo]), k=1)[0]
    return out


def surface_distances(
    pred: np.ndarray,
    truth: np.ndarray,
    spacing: Sequence[float] | None = None,
    boxes: list[tuple[slice, ...]] | None = None,
) -> SurfaceDistances:
    """Directed surface distances between two boolean masks of one shape (see the module docstring).

    With one mask empty the other's boundary voxels all get ``inf``; with both empty, both arrays
    are empty. ``boxes``: :func:`~lesionkit.metrics.lesions.independent_boxes` of ``pred | truth``
    when the caller already has them (boundaries are then found box by box, never on empty space).
    """
    pred, truth = np.asarray(pred, dtype=bool), np.asarray(truth, dtype=bool)
    scale = tuple(float(s) for s in (np.ones(pred.ndim) if spacing is None else spacing))
    if boxes is None:
        boxes = independent_boxes(pred | truth)
    pad = _pad_width(scale)
    grids = [np.zeros(tuple(n + 2 * w for n, w in zip(pred.shape, pad, strict=True)), dtype=bool) for _ in "pt"]
    for box in boxes:  # each box is surrounded by background, so its own boundary is exact
        padded_box = tuple(slice(s.start + w, s.stop + w) for s, w in zip(box, pad, strict=True))
        for mask, grid in zip((pred, truth), grids, strict=True):
            grid[padded_box] = boundary(mask[box])
    pred_b, truth_b = grids
    pred_pts, truth_pts = np.flatnonzero(pred_b), np.flatnonzero(truth_b)  # flat indices into the padded grid
    if len(pred_pts) == 0 or len(truth_pts) == 0:
        return np.full(len(pred_pts), np.inf), np.full(len(truth_pts), np.inf)
    return _nearest(pred_pts, truth_b, truth_pts, scale), _nearest(truth_pts, pred_b, pred_pts, scale)


def _percentile(values: np.ndarray, q: float) -> float:
    """``numpy.percentile(values, q)`` (linear interpolation) with one partial sort: ~10× less overhead."""
    position = q / 100 * (values.size - 1)
    lo = int(np.floor(position))
    hi = min(lo + 1, values.size - 1)
    part = np.partition(values, (lo, hi))
    return float(part[lo] + (position - lo) * (part[hi] - part[lo]))


def summarize_distances(distances: SurfaceDistances) -> dict[str, float]:
    """``hd``, ``hd95`` and ``assd`` (mm) from directed distances, with the empty-mask conventions."""
    pred_to_truth, truth_to_pred = distances
    if pred_to_truth.size == 0 and truth_to_pred.size == 0:
        return {"hd": 0.0, "hd95": 0.0, "assd": 0.0}
    if pred_to_truth.size == 0 or truth_to_pred.size == 0:
        return {"hd": np.inf, "hd95": np.inf, "assd": np.inf}
    return {
        "hd": float(max(pred_to_truth.max(), truth_to_pred.max())),
        "hd95": max(_percentile(pred_to_truth, 95.0), _percentile(truth_to_pred, 95.0)),
        "assd": float((pred_to_truth.sum() + truth_to_pred.sum()) / (pred_to_truth.size + truth_to_pred.size)),
    }
