"""Per-case quality estimates of automatic segmentations, without ground truth.

>>> from lesionkit.qc import case_features, score_case
>>> features = case_features(probability, mask, members, affine=affine, threshold=0.35)
>>> score_case(features)                      # QCResult(score=0.08, flag='ok', reasons=[])
>>> collect_qc(["derivatives/lesionkit"])     # qc.tsv + each mask sidecar's "qc" object

Modules: :mod:`~lesionkit.qc.features` (per case: member agreement, entropy, volume, lesion count, brain
edge and ventricles, registration, and the input's quality from :mod:`~lesionkit.qc.image_quality`: white-matter
SNR, grey/white contrast, effective slice thickness), :mod:`~lesionkit.qc.regions` (the template regions),
:mod:`~lesionkit.qc.cohort` (volume and lesion-count outliers in the batch), :mod:`~lesionkit.qc.score`
(the fitted score, flag and reasons), :mod:`~lesionkit.qc.fit` (fitting its weights),
:mod:`~lesionkit.qc.curves` (risk–coverage curves against the truth), :mod:`~lesionkit.qc.tables`
(``qc.tsv`` and the sidecars) and :mod:`~lesionkit.qc.collect` (a whole folder).
"""

from lesionkit.qc.cohort import COHORT_FEATURES, cohort_outliers, robust_z
from lesionkit.qc.collect import QCCollection, collect_qc, finish_qc, qc_record
from lesionkit.qc.curves import risk_coverage
from lesionkit.qc.features import FEATURES, case_features
from lesionkit.qc.score import QCResult, QCWeights, default_weights, load_weights, score_case
from lesionkit.qc.tables import QC_COLUMNS, QC_TABLE, read_qc_table, write_qc_table

__all__ = [
    "COHORT_FEATURES",
    "FEATURES",
    "QC_COLUMNS",
    "QC_TABLE",
    "QCCollection",
    "QCResult",
    "QCWeights",
    "case_features",
    "cohort_outliers",
    "collect_qc",
    "default_weights",
    "finish_qc",
    "load_weights",
    "qc_record",
    "read_qc_table",
    "risk_coverage",
    "robust_z",
    "score_case",
    "write_qc_table",
]
