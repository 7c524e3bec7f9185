"""Lesion-wise detection and the ATLAS R2.0 lesion-wise F1, as metrics (defined once, in
:mod:`lesionkit.core.lesions`, so that model calibration below the metrics stage counts lesions the same way)."""

from lesionkit.core.lesions import LesionCounts, count_lesions, independent_boxes

__all__ = ["LesionCounts", "count_lesions", "independent_boxes"]
