"""Challenge-grade segmentation metrics: per case, per cohort, and rankings.

Every definition is written once, in :mod:`lesionkit.metrics.pair` (per case),
:mod:`lesionkit.metrics.aggregate` (cohort statistics) and :mod:`lesionkit.metrics.ranking`.
"""

from lesionkit.metrics.aggregate import bootstrap_ci, micro_dice, size_quartiles, strata_table, summarize
from lesionkit.metrics.binary import as_mask
from lesionkit.metrics.cohort import evaluate_cohort, match_cases
from lesionkit.metrics.lesions import LesionCounts, count_lesions, independent_boxes
from lesionkit.metrics.maximal_dice import maximal_dice
from lesionkit.metrics.pair import METRIC_KEYS, evaluate_pair
from lesionkit.metrics.ranking import ATLAS_RANKING_METRICS, rank_submissions
from lesionkit.metrics.surface import boundary, summarize_distances, surface_distances

__all__ = [
    "ATLAS_RANKING_METRICS",
    "METRIC_KEYS",
    "LesionCounts",
    "as_mask",
    "bootstrap_ci",
    "boundary",
    "count_lesions",
    "evaluate_cohort",
    "evaluate_pair",
    "independent_boxes",
    "match_cases",
    "maximal_dice",
    "micro_dice",
    "rank_submissions",
    "size_quartiles",
    "strata_table",
    "summarize",
    "summarize_distances",
    "surface_distances",
]
