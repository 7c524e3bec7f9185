"""Evaluate a folder of predictions against a folder of true masks: :func:`evaluate_cohort`."""

from __future__ import annotations

import contextlib
import csv
import functools
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lesionkit import __version__
from lesionkit.core import DEFAULT_THRESHOLD
from lesionkit.io import (
    Case,
    InvalidInputError,
    Prefer,
    check_same_grid,
    load_case_mask,
    load_cohort,
    load_mask,
    load_probability,
)
from lesionkit.metrics.aggregate import size_quartiles, summarize
from lesionkit.metrics.maximal_dice import maximal_dice
from lesionkit.metrics.pair import evaluate_pair
from lesionkit.typing import PathLike

__all__ = ["CasePair", "EXTRA_STRATA", "LOCATION_COLUMNS", "evaluate_cohort", "match_cases", "primary_location"]

#: ``participants.tsv`` columns read, when present, as the lesion-location stratum (first found wins).
LOCATION_COLUMNS = ("lesion_location", "location", "primary_location", "lesion_site")
#: Other ``participants.tsv`` columns that become strata when present.
EXTRA_STRATA = ("hemisphere",)


def _lesion_table(folder: Path, cache: dict[Path, list[dict[str, str]]]) -> list[dict[str, str]]:
    if folder not in cache:
        tsv = folder / "lesions.tsv"
        rows: list[dict[str, str]] = []
        if tsv.is_file():
            with tsv.open(newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle, delimiter="\t"))
        cache[folder] = rows
    return cache[folder]


def _volume(row: dict[str, str]) -> float:
    try:
        return float(row.get("volume_mm3") or 0)
    except ValueError:
        return 0.0


def primary_location(case: Case, root: PathLike, cache: dict | None = None) -> str | None:
    """Location of the case's largest lesion: a ``participants.tsv`` column of :data:`LOCATION_COLUMNS`,
    else the ``location`` of its largest lesion in a ``lesions.tsv`` (``lesionkit synth`` writes one per
    cohort) found beside the mask or in a folder above it, up to ``root``; None when unknown.
    """
    for column in LOCATION_COLUMNS:
        if case.metadata.get(column):
            return case.metadata[column]
    anchor = case.mask or case.t1w
    if anchor is None:
        return None
    cache = {} if cache is None else cache
    root = Path(root).resolve()
    for folder in Path(anchor).resolve().parents:
        rows = [
            r for r in _lesion_table(folder, cache) if r.get("participant_id", "").removeprefix("sub-") == case.subject
        ]
        if rows:
            return max(rows, key=_volume).get("location") or None
        if folder == root or root not in folder.parents:
            break
    return None


@dataclass(frozen=True)
class CasePair:
    """A true case and its prediction (None when missing), as matched by :func:`match_cases`."""

    case_id: str
    truth: Case
    pred: Case | None


def match_cases(preds: Sequence[Case], truths: Sequence[Case]) -> tuple[list[CasePair], list[str]]:
    """Pair cases by subject and session; a prediction without a session matches a subject's only scan.

    Returns the jobs (one per true case, ``pred=None`` when missing) and the ids of unmatched predictions.
    """
    by_key = {(c.subject, c.session): c for c in preds}
    by_subject: dict[str, list[Case]] = {}
    for case in truths:
        by_subject.setdefault(case.subject, []).append(case)
    used: set[tuple[str, str | None]] = set()
    jobs = []
    for truth in truths:
        key = (truth.subject, truth.session)
        pred = by_key.get(key)
        if pred is None and len(by_subject[truth.subject]) == 1:
            pred = by_key.get((truth.subject, None))
        if pred is not None:
            used.add((pred.subject, pred.session))
        jobs.append(CasePair(truth.id, truth, pred))
    extra = sorted(c.id for c in preds if (c.subject, c.session) not in used)
    return jobs, extra


def _evaluate_job(job: CasePair, threshold: float) -> dict:
    """One row of the per-case table (runs in worker processes: top-level and picklable)."""
    truth_img = load_case_mask(job.truth)
    truth = np.asanyarray(truth_img.dataobj)
    spacing = tuple(float(z) for z in truth_img.header.get_zooms()[:3])
    row: dict = {"case_id": job.case_id, "subject": job.truth.subject, "session": job.truth.session}
    prob = None
    if job.pred is None:
        pred = np.zeros_like(truth)
    elif job.pred.mask is not None:
        pred_img = load_mask(job.pred.mask)
        check_same_grid(truth_img, pred_img)
        pred = np.asanyarray(pred_img.dataobj)
    else:
        pred = None
    if job.pred is not None and job.pred.probseg is not None:
        prob_img = load_probability(job.pred.probseg)
        check_same_grid(truth_img, prob_img)
        prob = np.asanyarray(prob_img.dataobj)
        if pred is None:
            pred = prob  # no mask given: the probability map thresholded at ``threshold``
    row.update(evaluate_pair(pred, truth, spacing=spacing, threshold=threshold))
    if prob is not None:
        row["mdsc"], row["mdsc_threshold"] = maximal_dice(prob, truth)
    row["prediction"] = "missing" if job.pred is None else str(job.pred.mask or job.pred.probseg)
    return row


def _run_jobs(jobs: list[CasePair], threshold: float, n_jobs: int, progress: bool,
              executor: Executor | None = None) -> list[dict]:
    from rich.progress import Progress

    with Progress(disable=not progress, transient=True) as bar, contextlib.ExitStack() as stack:
        task = bar.add_task("evaluating cases", total=len(jobs))
        if executor is None and n_jobs > 1:
            executor = stack.enter_context(ProcessPoolExecutor(max_workers=n_jobs))
        rows = []
        # in case order; the first failure (e.g. grid mismatch) propagates
        for row in (executor.map if executor else map)(functools.partial(_evaluate_job, threshold=threshold), jobs):
            rows.append(row)
            bar.advance(task)
        return rows


def evaluate_cohort(
    pred_path: PathLike,
    truth_path: PathLike,
    jobs: int = 1,
    progress: bool = True,
    participant_label: Iterable[str] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    n_resamples: int = 1000,
    seed: int | None = 0,
    executor: Executor | None = None,
    prefer: Prefer = "automatic",
) -> tuple[pd.DataFrame, dict]:
    """Evaluate every true case against its prediction; returns ``(rows, summary)``.

    Cases are matched by subject (+ session) with :func:`lesionkit.io.load_cohort` on both sides (any
    layout it reads; predictions with ``default_role="mask"``, the truth with ``truth=True`` so predictions
    saved inside the truth's folder are not read as truth). A missing prediction is scored as an
    empty mask and listed under ``missing_predictions``; a prediction with no true case is a warning and
    listed under ``extra_predictions``; masks on different grids raise
    :class:`~lesionkit.io.InvalidInputError` naming both files. A probability map (``*_probseg``) adds
    maximal Dice (``mdsc``); one with values outside [0, 1] is refused. ``executor`` (e.g. a Dask
    ``Client.get_executor()``) runs the cases instead of ``jobs`` processes. Strata: truth size quartile,
    cohort, and, when the truth's metadata tell them, lesion location (:func:`primary_location`) and
    :data:`EXTRA_STRATA` (hemisphere). ``prefer`` (``load_cohort``'s): ``"corrected"`` scores a case's
    hand-corrected (``desc-corrected``) prediction where it has one.
    """
    preds = load_cohort(pred_path, participant_label=participant_label, default_role="mask", prefer=prefer)
    preds = [c for c in preds if c.mask is not None or c.probseg is not None]
    # ATLAS ships MNI and native (space-orig) masks side by side: score against the predictions' space
    # when the truth has it, else against the truth's default (MNI).
    every_truth = [c for c in load_cohort(truth_path, participant_label, space=None, truth=True)
                   if c.mask_parts or c.mask]
    pred_spaces = {c.space for c in preds if c.space is not None}
    truths = [c for c in every_truth if c.space in pred_spaces]
    if not truths:
        truths = [c for c in load_cohort(truth_path, participant_label, truth=True) if c.mask_parts or c.mask]
    if not truths:
        raise InvalidInputError(truth_path, "holds no lesion masks to evaluate against")
    job_list, extra = match_cases(preds, truths)
    if extra:
        warnings.warn(f"{len(extra)} prediction(s) have no true case and are ignored: {', '.join(extra)}", stacklevel=2)
    rows = pd.DataFrame(_run_jobs(job_list, threshold, jobs, progress, executor))
    if "mdsc" in rows:  # a missing prediction is an empty mask, so its best Dice over thresholds is its Dice
        absent = rows["mdsc"].isna() & rows["prediction"].eq("missing")
        rows.loc[absent, "mdsc"] = rows.loc[absent, "dice"]
    rows["cohort"] = [job.truth.cohort for job in job_list]
    rows["size_quartile"] = size_quartiles(rows["truth_volume"])
    strata = ["size_quartile", "cohort"]
    cache: dict = {}
    locations = [primary_location(job.truth, truth_path, cache) for job in job_list]
    if any(locations):
        rows["location"] = locations
        strata.append("location")
    for column in EXTRA_STRATA:
        if any(column in job.truth.metadata for job in job_list):
            rows[column] = [job.truth.metadata.get(column) or None for job in job_list]
            strata.append(column)
    first = ["case_id", "subject", "session", *strata]
    rows = rows[first + [c for c in rows.columns if c not in first]]
    summary = summarize(rows, n_resamples=n_resamples, seed=seed, strata=strata)
    summary["missing_predictions"] = [job.case_id for job in job_list if job.pred is None]
    summary["extra_predictions"] = extra
    summary["threshold"] = threshold
    summary["definitions"] = "lesionkit.metrics.pair (per case), lesionkit.metrics.aggregate (summaries)"
    summary["lesionkit_version"] = __version__
    return rows, summary
