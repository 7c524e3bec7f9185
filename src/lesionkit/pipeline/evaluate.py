"""``evaluate_predictions``: what ``lesionkit evaluate`` does — per-case metrics, a summary and a report.

The scoring is :func:`lesionkit.metrics.evaluate_cohort` (its cases on a Dask cluster when asked); this
module renders ``metrics.tsv``, ``summary.json`` and ``report.html`` and writes them only once all three
are ready, each atomically, so a failure leaves no half-written output. When the predictions carry QC
scores (``qc.tsv`` or the masks' sidecars, :mod:`lesionkit.qc`), the summary's ``qc`` entry and the report
show how well they rank the cases (:func:`lesionkit.qc.curves.rows_risk_coverage`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from lesionkit.core import DEFAULT_THRESHOLD
from lesionkit.io import Prefer
from lesionkit.pipeline.cluster import ClusterSpec, open_executor
from lesionkit.typing import PathLike

__all__ = ["EVALUATION_FILES", "evaluate_predictions", "json_safe"]

EVALUATION_FILES = ("metrics.tsv", "summary.json", "report.html")


def json_safe(value):
    """``value`` with inf/NaN floats (which JSON lacks) as the strings ``"inf"``/``"-inf"`` and null."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def evaluate_predictions(
    pred: PathLike,
    truth: PathLike,
    out: PathLike,
    *,
    participant_label: Iterable[str] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    n_resamples: int = 1000,
    seed: int | None = 0,
    spec: ClusterSpec | None = None,
    progress: bool = True,
    prefer: Prefer = "automatic",
) -> tuple[pd.DataFrame, dict]:
    """Score ``pred`` against ``truth`` (see :func:`~lesionkit.metrics.evaluate_cohort`), write
    :data:`EVALUATION_FILES` to ``out`` and return ``(rows, summary)``. ``prefer="corrected"`` scores a case's
    hand-corrected (``desc-corrected``) prediction where it has one."""
    from lesionkit.io import write_text
    from lesionkit.metrics import evaluate_cohort
    from lesionkit.report.evaluation import render_evaluation_report

    with open_executor(spec or ClusterSpec()) as executor:
        rows, summary = evaluate_cohort(
            pred, truth, progress=progress, participant_label=participant_label, threshold=threshold,
            n_resamples=n_resamples, seed=seed, executor=executor, prefer=prefer,
        )
    from lesionkit.qc.collect import read_scores
    from lesionkit.qc.curves import rows_risk_coverage

    scores = read_scores(pred) if Path(pred).exists() else None
    qc = rows_risk_coverage(rows, scores) if scores else None
    if qc is not None:  # the predictions carry QC (qc.tsv or sidecars): how well it ranks them
        summary["qc"] = qc
    texts = {
        "metrics.tsv": rows.to_csv(sep="\t", index=False, na_rep="n/a", float_format="%.6g"),
        "summary.json": json.dumps(json_safe(summary), indent=2) + "\n",
        "report.html": render_evaluation_report(rows, summary),
    }
    for name, text in texts.items():
        write_text(Path(out) / name, text)
    return rows, summary
