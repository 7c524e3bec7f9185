"""One subject's composition, and batches of subjects on Dask.

>>> from lesionkit.pipeline import collect_cases, run_subject, segment_t1w
>>> seg = segment_t1w(t1w_img, model)                  # probability + mask on t1w_img's own grid
>>> run_subject(case, "derivatives/lesionkit")          # preprocess → segment → analyze, with provenance
>>> run_subjects(collect_cases(["bids"]), "derivatives/lesionkit", spec=ClusterSpec(jobs=2))

Modules: :mod:`~lesionkit.pipeline.cases` (the one case collection), :mod:`~lesionkit.pipeline.segment`,
:mod:`~lesionkit.pipeline.subject`, :mod:`~lesionkit.pipeline.provenance`, :mod:`~lesionkit.pipeline.models`
(a model loaded once per worker), :mod:`~lesionkit.pipeline.cluster` and :mod:`~lesionkit.pipeline.threads`
(where a batch runs), :mod:`~lesionkit.pipeline.batch`, :mod:`~lesionkit.pipeline.group` (cohort outputs),
:mod:`~lesionkit.pipeline.derivatives` (what makes an output folder a BIDS derivatives dataset), and what
``lesionkit analyze`` and ``evaluate`` do: :mod:`~lesionkit.pipeline.analyze`, :mod:`~lesionkit.pipeline.evaluate`.
"""

from lesionkit.pipeline.batch import BatchReport, Outcome, run_subjects
from lesionkit.pipeline.cases import collect_cases
from lesionkit.pipeline.cluster import ClusterSpec, open_client
from lesionkit.pipeline.models import ModelRef
from lesionkit.pipeline.segment import Segmentation, is_mni_grid, segment_t1w
from lesionkit.pipeline.subject import STEPS, SubjectResult, run_subject

__all__ = [
    "STEPS",
    "BatchReport",
    "ClusterSpec",
    "ModelRef",
    "Outcome",
    "Segmentation",
    "SubjectResult",
    "collect_cases",
    "is_mni_grid",
    "open_client",
    "run_subject",
    "run_subjects",
    "segment_t1w",
]
