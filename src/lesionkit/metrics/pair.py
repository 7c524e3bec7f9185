"""Per-case metrics of a predicted lesion mask against the true one: :func:`evaluate_pair`.

Metric definitions (the one place they are written down; README and report link here)
------------------------------------------------------------------------------------
Masks: bool or integer arrays (non-zero = lesion) or floats (``value >= threshold`` = lesion, default
0.5: :func:`lesionkit.core.binarize_probability`, the rule segmentation applies too). NaN/inf, shapes
that differ, or a bad spacing raise :class:`~lesionkit.io.InvalidInputError`. Volumes are voxel counts
times the voxel volume (mm³).

``dice``
    2·|P∩T| / (|P| + |T|); both empty → 1 (official ATLAS R2.0 convention); one empty → 0.
``tpr``
    |P∩T| / |T| (sensitivity, recall); NaN when the truth is empty (undefined, never a fake 0 or 1).
``precision``
    |P∩T| / |P| (positive predictive value); NaN when the prediction is empty.
``volume_difference``
    | |P| − |T| | in mm³ (ATLAS R2.0 absolute volume difference).
``lesion_count_difference``
    |#lesions(P) − #lesions(T)|, lesions = 6-connected components (ATLAS R2.0 simple lesion count).
``lesion_f1``
    TP / (TP + (FP + FN)/2), where a true lesion is detected (TP) when one of its voxels is predicted,
    missed (FN) otherwise, and a predicted lesion touching no true voxel is FP; both empty → 1.
    See :mod:`lesionkit.metrics.lesions`.
``hd``, ``hd95``, ``assd``
    Surface distances in mm between the boundary voxels of P and T (voxels with a face neighbour
    outside the mask), Euclidean with the voxel spacing: HD = max of the two directed maxima,
    HD95 = max of the two directed 95th percentiles, ASSD = mean of both directions pooled; equal to
    MONAI's definitions. One mask empty → ``inf`` (reported and counted, never averaged away);
    both empty → 0. See :mod:`lesionkit.metrics.surface`.

Extra keys, for aggregation and tables: ``truth_volume``, ``pred_volume``, ``overlap_volume`` (mm³),
``truth_lesions``, ``pred_lesions``, ``detected_lesions``, ``missed_lesions``, ``false_positive_lesions``.

Aggregates (:mod:`lesionkit.metrics.aggregate`): ``micro_dice`` = 2·Σ|P∩T| / Σ(|P|+|T|) over all cases;
``mdsc`` (maximal Dice, :mod:`lesionkit.metrics.maximal_dice`) = best Dice over thresholds of a
probability map; per metric mean, median, std and a 95 % percentile-bootstrap CI of the mean.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lesionkit.core import DEFAULT_THRESHOLD, bounding_box, dice_from_counts, union_box
from lesionkit.io.errors import InvalidInputError
from lesionkit.metrics.binary import as_mask, check_spacing
from lesionkit.metrics.lesions import count_lesions, independent_boxes
from lesionkit.metrics.surface import summarize_distances, surface_distances

__all__ = ["METRIC_KEYS", "evaluate_pair"]

#: The per-case metrics of DESIGN.md, in table order.
METRIC_KEYS = (
    "dice",
    "hd",
    "hd95",
    "assd",
    "tpr",
    "precision",
    "volume_difference",
    "lesion_count_difference",
    "lesion_f1",
)


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else float("nan")


def evaluate_pair(
    pred: np.ndarray,
    truth: np.ndarray,
    spacing: float | Sequence[float] = (1.0, 1.0, 1.0),
    threshold: float = DEFAULT_THRESHOLD,
) -> dict[str, float]:
    """All per-case metrics of ``pred`` against ``truth`` (definitions in this module's docstring).

    Only the smallest box holding both masks is ever copied or scanned after the bounding box is
    found, which is what makes a 197×233×189 pair take milliseconds.
    """
    p_full, t_full = as_mask(pred, threshold, "pred"), as_mask(truth, threshold, "truth")
    if p_full.shape != t_full.shape:
        raise InvalidInputError(None, f"pred shape {p_full.shape} differs from truth shape {t_full.shape}")
    scale = check_spacing(spacing, p_full.ndim)
    voxel = float(np.prod(scale))
    box = union_box(bounding_box(p_full), bounding_box(t_full))
    if box is None:  # both empty
        p = t = np.zeros((0,) * p_full.ndim, dtype=bool)
    else:
        p, t = p_full[box] != 0, t_full[box] != 0
    n_pred, n_truth = int(np.count_nonzero(p)), int(np.count_nonzero(t))
    n_both = int(np.count_nonzero(p & t))
    boxes = independent_boxes(p | t)
    lesions = count_lesions(p, t, boxes)
    return {
        "dice": dice_from_counts(n_both, n_pred, n_truth),
        **summarize_distances(surface_distances(p, t, scale, boxes)),
        "tpr": _ratio(n_both, n_truth),
        "precision": _ratio(n_both, n_pred),
        "volume_difference": abs(n_pred - n_truth) * voxel,
        "lesion_count_difference": lesions.count_difference,
        "lesion_f1": lesions.f1,
        "truth_volume": n_truth * voxel,
        "pred_volume": n_pred * voxel,
        "overlap_volume": n_both * voxel,
        "truth_lesions": lesions.truth,
        "pred_lesions": lesions.pred,
        "detected_lesions": lesions.detected,
        "missed_lesions": lesions.missed,
        "false_positive_lesions": lesions.false_positive,
    }
