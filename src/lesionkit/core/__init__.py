"""Primitives every stage shares, defined once, below them all: lesion labelling (6-connected components),
bounding boxes, Dice, lesion-wise detection counts (ATLAS F1), and the probability threshold rule.

Imports only numpy and cc3d, nothing else of lesionkit, so any stage may use it.
"""

from lesionkit.core.boxes import Box, bounding_box, union_box
from lesionkit.core.components import label_components, label_lesions, largest_component, remove_small_lesions
from lesionkit.core.lesions import LesionCounts, count_lesions, independent_boxes
from lesionkit.core.overlap import dice, dice_from_counts
from lesionkit.core.threshold import DEFAULT_THRESHOLD, binarize_probability

__all__ = [
    "DEFAULT_THRESHOLD",
    "Box",
    "LesionCounts",
    "binarize_probability",
    "bounding_box",
    "count_lesions",
    "dice",
    "dice_from_counts",
    "independent_boxes",
    "label_components",
    "label_lesions",
    "largest_component",
    "remove_small_lesions",
    "union_box",
]
