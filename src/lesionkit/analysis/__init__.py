"""lesionkit.analysis"""

from lesionkit.analysis.overlap import overlap_maps
from lesionkit.analysis.reliability import (
    ICCResult,
    icc_2_1,
    load_raters,
    match_raters,
    rater_pairs,
    summarize_pairs,
)

__all__ = [
    "ICCResult",
    "icc_2_1",
    "load_raters",
    "match_raters",
    "overlap_maps",
    "rater_pairs",
    "summarize_pairs",
]
