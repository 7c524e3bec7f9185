"""Lesion-wise detection: connected components and the ATLAS R2.0 lesion-wise F1.

Definitions (official ATLAS R2.0 evaluation):

* A **lesion** is a connected component of a mask under 6-connectivity (face neighbours only), so two
  voxels touching only at an edge or a corner are two lesions.
* A true lesion is **detected** (TP) when at least one of its voxels is also predicted; otherwise it
  is missed (FN). A predicted lesion that shares no voxel with the truth is a false positive (FP).
* **Lesion-wise F1** = TP / (TP + (FP + FN) / 2); both masks empty → 1.
* **Simple lesion-count difference** = |number of predicted lesions − number of true lesions|.

Speed: labelling costs time in proportion to the voxels of the array it scans. The union of both
masks is first split into *independent boxes*: boxes separated by an all-background plane can share
no component, so each is labelled on its own, tightly cropped. A lesion and a far-away
false-positive speck are then two small boxes instead of one large, mostly empty one. Components are
labelled by :func:`lesionkit.core.label_components`, the toolkit's one labelling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from lesionkit.core.components import label_components

__all__ = ["LesionCounts", "count_lesions", "independent_boxes"]


@dataclass(frozen=True)
class LesionCounts:
    """Lesion tallies of one prediction against one truth (6-connected components)."""

    truth: int
    pred: int
    detected: int
    """True lesions with at least one predicted voxel (TP)."""
    false_positive: int
    """Predicted lesions with no true voxel (FP)."""

    @property
    def missed(self) -> int:
        """True lesions with no predicted voxel (FN)."""
        return self.truth - self.detected

    @property
    def f1(self) -> float:
        """TP / (TP + (FP + FN) / 2); 1 when both masks are empty."""
        denominator = self.detected + (self.false_positive + self.missed) / 2
        return 1.0 if denominator == 0 else self.detected / denominator

    @property
    def count_difference(self) -> int:
        return abs(self.pred - self.truth)


_NONZERO_RUN = re.compile(rb"[^\x00]+")


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` of each run of non-zero values in a 1-D uint8 array.

    A regular expression over the bytes: these arrays are short, and numpy's per-call overhead
    (flatnonzero, diff, concatenate) cost ten times more than the scan itself.
    """
    return [match.span() for match in _NONZERO_RUN.finditer(np.ascontiguousarray(flags, dtype=np.uint8).tobytes())]


def _projections(mask: np.ndarray) -> list[np.ndarray]:
    """Per axis, whether each index holds a non-zero voxel (uint8 max: SIMD-fast, unlike multi-axis any())."""
    view = mask.view(np.uint8)
    if view.ndim == 1:
        return [view]
    rest = view.max(axis=0)  # collapse axis 0 once, then project the smaller array
    out = [view.reshape(view.shape[0], -1).max(axis=1)]
    for axis in range(rest.ndim):
        others = tuple(a for a in range(rest.ndim) if a != axis)
        out.append(rest.max(axis=others) if others else rest)
    return out


def independent_boxes(mask: np.ndarray) -> list[tuple[slice, ...]]:
    """Split a boolean mask into tight boxes that no 6- or 26-connected component crosses.

    A box is split wherever a whole plane across it is background; the pieces are tightened and
    split again until no such plane is left. Every non-zero voxel lies in exactly one box.
    """
    boxes: list[tuple[slice, ...]] = []
    if mask.size == 0:
        return boxes
    stack = [tuple(slice(0, n) for n in mask.shape)]
    while stack:
        box = stack.pop()
        runs = [_runs(p) for p in _projections(mask[box])]
        if not runs[0]:
            continue
        split_axis = next((axis for axis, r in enumerate(runs) if len(r) > 1), None)
        if split_axis is None:
            boxes.append(tuple(slice(s.start + r[0][0], s.start + r[0][1]) for s, r in zip(box, runs, strict=True)))
            continue
        for start, stop in runs[split_axis]:
            child = list(box)
            child[split_axis] = slice(box[split_axis].start + start, box[split_axis].start + stop)
            stack.append(tuple(child))
    return boxes


def _distinct(labels: np.ndarray, overlap: np.ndarray, count: int) -> int:
    """How many of the components 1..count of ``labels`` have a voxel in ``overlap``."""
    if not overlap.any():
        return 0
    if count == 1:  # the usual case: no gather at all
        return 1
    return int(np.count_nonzero(np.bincount(labels[overlap], minlength=count + 1)[1:]))


def count_lesions(pred: np.ndarray, truth: np.ndarray, boxes: list[tuple[slice, ...]] | None = None) -> LesionCounts:
    """Count true, predicted, detected and false-positive lesions of two boolean masks of one shape.

    ``boxes``: :func:`independent_boxes` of ``pred | truth`` when the caller already has them.
    """
    n_truth = n_pred = detected = hit_pred = 0
    for box in independent_boxes(pred | truth) if boxes is None else boxes:
        p, t = pred[box], truth[box]
        t_labels, t_count = label_components(t)
        p_labels, p_count = label_components(p)
        overlap = p & t
        n_truth += t_count
        n_pred += p_count
        if t_count and p_count:
            detected += _distinct(t_labels, overlap, t_count)
            hit_pred += _distinct(p_labels, overlap, p_count)
    return LesionCounts(truth=n_truth, pred=n_pred, detected=detected, false_positive=n_pred - hit_pred)
