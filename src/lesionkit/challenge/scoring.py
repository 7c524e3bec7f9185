"""Score one submission: unpack, validate every mask, match to the hidden truth by subject and session,
and compute the per-case metrics with :func:`lesionkit.metrics.evaluate_pair` (no metric is re-implemented).

A missing case is scored as an empty prediction and listed; files that match no case are listed as extras.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import delete

from lesionkit import __version__
from lesionkit.challenge.archive import ArchiveLimits, Grid, extract_archive, read_mask, relative_error, remove_tree
from lesionkit.challenge.jobs import hold_job
from lesionkit.challenge.phases import get_challenge
from lesionkit.challenge.tables import CaseResult, Phase, Submission
from lesionkit.challenge.truth import load_truth, truth_folder
from lesionkit.io import InvalidInputError
from lesionkit.io.cohort import Case, load_cohort
from lesionkit.metrics import METRIC_KEYS, evaluate_pair, match_cases
from lesionkit.web.database import Database
from lesionkit.web.tables import utcnow

__all__ = ["SCORER_VERSION", "ScoredCase", "Scoring", "score_archive", "score_job", "uploads_folder"]

log = logging.getLogger("lesionkit.challenge")
#: Stored with every result; bump the suffix when scoring changes, then rescore.
SCORER_VERSION = f"lesionkit {__version__} scorer 1"


@dataclass
class ScoredCase:
    case_id: str
    missing: bool
    metrics: dict[str, float]
    seconds: float


@dataclass
class Scoring:
    cases: list[ScoredCase]
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self, metrics=METRIC_KEYS) -> dict[str, float | None]:  # noqa: ANN001
        """Case means (NaN cases left out, as :func:`lesionkit.metrics.rank_submissions` does)."""
        out: dict[str, float | None] = {}
        for key in metrics:
            values = np.array([c.metrics[key] for c in self.cases], dtype=float)
            values = values[~np.isnan(values)]
            out[key] = float(values.mean()) if values.size else None
        return out


def uploads_folder(storage: Path | str) -> Path:
    return Path(storage) / "uploads"


def _grid(phase: Phase) -> Grid:
    return Grid(tuple(phase.grid_shape), np.array(phase.grid_affine, dtype=float))  # type: ignore[arg-type]


def _predictions(folder: Path, files: list[str]) -> tuple[list[Case], list[str]]:
    """Cases (by subject and session) of the unpacked masks, and the files that are no prediction.

    Read with :func:`lesionkit.io.load_cohort` from the archive's root and from every BIDS derivative dataset
    in it (the official ``derivatives/atlas2_prediction/sub-*/ses-*/anat/*_mask.nii.gz`` layout)."""
    if not any(f.endswith((".nii", ".nii.gz")) for f in files):
        return [], list(files)
    roots = [folder, *sorted(p for p in folder.rglob("derivatives/*") if p.is_dir())]
    preds: list[Case] = []
    seen: set[tuple[str, str | None]] = set()
    for root in roots:
        try:
            cases = load_cohort(root, space=None, default_role="mask")
        except InvalidInputError as error:
            if "no cases found" in error.problem:
                continue
            raise relative_error(error, folder, "upload") from None
        for case in cases:
            if case.mask is None:
                continue
            key = (case.subject, case.session)
            if len(case.mask_parts) > 1 or key in seen:
                second = case.mask_parts[1] if len(case.mask_parts) > 1 else case.mask
                raise InvalidInputError(str(second.relative_to(folder)), f"is a second prediction for {case.id}")
            seen.add(key)
            preds.append(case)
    used = {str(c.mask.relative_to(folder)) for c in preds}
    return preds, [f for f in files if f not in used]


def score_archive(archive: Path, phase: Phase, storage: Path, display_name: str = "upload") -> Scoring:
    """Validate and score an uploaded archive against the phase's hidden truth."""
    t0 = time.perf_counter()
    grid = _grid(phase)
    limits = ArchiveLimits(max_unpacked_bytes=phase.max_unpacked_bytes, max_members=phase.max_members)
    scratch = Path(tempfile.mkdtemp(prefix="unpack-", dir=storage))
    try:
        files = extract_archive(archive, scratch, limits, display_name)
        t_unpack = time.perf_counter()
        preds, extra = _predictions(scratch, files)
        truths = [Case(subject=c.subject, session=c.session, mask=Path(c.storage_name)) for c in phase.cases]
        storage_of = {c.case_id: c.storage_name for c in phase.cases}
        pairs, unmatched = match_cases(preds, truths)
        extra += [str(c.mask.relative_to(scratch)) for c in preds if c.id in unmatched]
        result = Scoring(cases=[], extra=sorted(extra))
        folder = truth_folder(storage, phase.name)
        t_validate = 0.0
        for pair in pairs:
            start = time.perf_counter()
            truth = load_truth(folder, storage_of[pair.case_id])
            if pair.pred is None:
                pred = np.zeros(truth.shape, dtype=bool)
                result.missing.append(pair.case_id)
            else:
                v0 = time.perf_counter()
                pred, warnings = read_mask(pair.pred.mask, grid, str(pair.pred.mask.relative_to(scratch)))
                t_validate += time.perf_counter() - v0
                result.warnings.extend(warnings)
            metrics = evaluate_pair(pred, truth, spacing=grid.spacing)
            result.cases.append(ScoredCase(pair.case_id, pair.pred is None, metrics, time.perf_counter() - start))
    finally:
        remove_tree(scratch)
    result.timings = {
        "unpack_s": t_unpack - t0,
        "validate_s": t_validate,
        "total_s": time.perf_counter() - t0,
        "cases": len(result.cases),
    }
    return result


def _json_number(value: float) -> float | str | None:
    """JSON has no inf/NaN: ``inf`` distances become the string "inf", undefined values null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def score_job(db: Database, job_id: int, worker: str) -> str:
    """Score the job's submission and store the results if this worker still holds the job; returns the
    submission's new status (``scored`` or ``invalid``). Unexpected errors propagate (the worker retries)."""
    with db.read() as session:
        job = hold_job(session, job_id, worker)
        submission = session.get(Submission, job.submission_id)
        phase = submission.phase
        _ = phase.cases  # loaded now: scoring runs outside the session
        storage = Path(get_challenge(session).storage)
        archive = uploads_folder(storage) / submission.archive_name
        submission_id, truth_version = submission.id, phase.truth_version
    try:
        scoring = score_archive(archive, phase, storage, display_name="upload")
    except InvalidInputError as error:
        with db.write() as session:
            job = hold_job(session, job_id, worker)
            sub = session.get(Submission, submission_id)
            sub.status, sub.error = "invalid", str(error)
            sub.results.clear()
            sub.summary, sub.scored_at = {}, None
            job.status, job.finished_at, job.error, job.lease_expires_at = "done", utcnow(), str(error), None
        log.info("submission %d invalid", submission_id)
        return "invalid"
    with db.write() as session:
        job = hold_job(session, job_id, worker)
        sub = session.get(Submission, submission_id)
        session.execute(delete(CaseResult).where(CaseResult.submission_id == submission_id))
        for case in scoring.cases:
            session.add(CaseResult(submission_id=submission_id, case_id=case.case_id, missing=case.missing,
                                   metrics={k: _json_number(v) for k, v in case.metrics.items()},
                                   seconds=case.seconds))
        sub.status, sub.error = "scored", None
        sub.summary = {k: _json_number(v) if v is not None else None for k, v in scoring.summary().items()}
        sub.missing_cases, sub.extra_files, sub.warnings = scoring.missing, scoring.extra, scoring.warnings[:50]
        sub.scorer_version, sub.truth_version, sub.scored_at = SCORER_VERSION, truth_version, utcnow()
        sub.timings = scoring.timings
        job.status, job.finished_at, job.error, job.lease_expires_at = "done", utcnow(), None, None
    log.info("submission %d scored: %d cases in %.1f s", submission_id, len(scoring.cases),
             scoring.timings["total_s"])
    return "scored"

