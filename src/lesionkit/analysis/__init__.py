"""lesionkit.analysis"""

from lesionkit.analysis.components import voxel_volume
from lesionkit.analysis.location import anatomy, classify_location, hemisphere
from lesionkit.analysis.overlap import overlap_maps
from lesionkit.analysis.quantify import (
    LESION_COLUMNS,
    MIN_LESION_MM3,
    SUBJECT_COLUMNS,
    grid_step,
    hemisphere_class,
    quantify_lesions,
    speck_summary,
    summarize_subjects,
)
from lesionkit.analysis.reliability import (
    ICCResult,
    ReliabilityReport,
    icc_2_1,
    load_raters,
    match_raters,
    rater_pairs,
    reliability_report,
    summarize_pairs,
)
from lesionkit.analysis.roi import (
    Atlas,
    builtin_atlas,
    cst_lesion_load,
    load_atlas,
    load_label_table,
    read_cst,
    roi_load,
)
from lesionkit.analysis.territory import majority_territory, territory_shares
from lesionkit.analysis.tracing import WhiteMatterBand, merge_masks, smooth_mask, white_matter_correction
from lesionkit.core import label_lesions
from lesionkit.io.templates import atlas_step  # re-exported: a grid helper of io

__all__ = [
    "Atlas",
    "ICCResult",
    "LESION_COLUMNS",
    "MIN_LESION_MM3",
    "ReliabilityReport",
    "SUBJECT_COLUMNS",
    "WhiteMatterBand",
    "anatomy",
    "atlas_step",
    "builtin_atlas",
    "classify_location",
    "cst_lesion_load",
    "grid_step",
    "hemisphere",
    "hemisphere_class",
    "icc_2_1",
    "label_lesions",
    "load_atlas",
    "load_label_table",
    "load_raters",
    "majority_territory",
    "match_raters",
    "merge_masks",
    "overlap_maps",
    "quantify_lesions",
    "rater_pairs",
    "read_cst",
    "reliability_report",
    "roi_load",
    "smooth_mask",
    "speck_summary",
    "summarize_pairs",
    "summarize_subjects",
    "territory_shares",
    "voxel_volume",
    "white_matter_correction",
]
