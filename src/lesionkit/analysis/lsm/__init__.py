"""Lesion–symptom mapping (LSM): which voxels, when lesioned, go with a worse behavioural score.

Modules, bottom up: :mod:`~lesionkit.analysis.lsm.design` (behaviour table, subject matching, tested voxels
and unique patches), :mod:`~lesionkit.analysis.lsm.stats` (Welch t, Brunner–Munzel, OLS with covariates,
chi-square, Fisher — vectorised over patches and permutations), :mod:`~lesionkit.analysis.lsm.inference`
(permutation FWE, continuous FWE, FDR), :mod:`~lesionkit.analysis.lsm.svr` (SVR-LSM with dTLVC),
:mod:`~lesionkit.analysis.lsm.mapping` (one analysis) and :mod:`~lesionkit.analysis.lsm.outputs` (maps,
power map, cluster and region tables). The one call that reads inputs and writes every output, report
included, is :func:`lesionkit.pipeline.lsm.lesion_symptom_map` (``lesionkit lsm``).
"""

from lesionkit.analysis.lsm.design import (
    LESION_VOLUME,
    Behavior,
    LesionMatrix,
    lesion_matrix,
    match_subjects,
    min_lesioned_count,
    read_behavior,
)
from lesionkit.analysis.lsm.inference import PermutationNull, corrected_p, fdr_q, permutation_null, vth_largest
from lesionkit.analysis.lsm.mapping import CORRECTIONS, TESTS, LSMResult, LSMSettings, run_mapping
from lesionkit.analysis.lsm.outputs import cluster_table, minimum_detectable_effect, region_table, result_maps
from lesionkit.analysis.lsm.stats import brunner_munzel, fisher_log_p, partial_t, signed_chi2, welch_t

__all__ = [
    "CORRECTIONS",
    "LESION_VOLUME",
    "TESTS",
    "Behavior",
    "LSMResult",
    "LSMSettings",
    "LesionMatrix",
    "PermutationNull",
    "brunner_munzel",
    "cluster_table",
    "corrected_p",
    "fdr_q",
    "fisher_log_p",
    "lesion_matrix",
    "match_subjects",
    "min_lesioned_count",
    "minimum_detectable_effect",
    "partial_t",
    "permutation_null",
    "read_behavior",
    "region_table",
    "result_maps",
    "run_mapping",
    "signed_chi2",
    "vth_largest",
    "welch_t",
]
