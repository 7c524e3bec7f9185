"""Score one submission: unpack, validate every mask, match to the hidden truth by subject and session,
and compute the per-case metrics with :func:`lesionkit.metrics.evaluate_pair` (no metric is re-implemented).

A missing case is scored as an empty prediction and listed; files that match no case are listed as extras.

Each job is scored in a child process under a time limit (:attr:`Challenge.job_seconds`, or the worker's
``--time-limit``): a small archive can hold a worker for minutes (a one-voxel lattice makes every voxel a lesion),
so past the limit the child is killed and the job fails with the reason, and the next job goes on. Invalid and
failed uploads are deleted from storage as soon as they are judged.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import delete

from lesionkit import __version__
from lesionkit.challenge.archive import (
    MAX_VOX_OFFSET,
    ArchiveLimits,
    Grid,
    extract_archive,
    read_mask,
    relative_error,
    remove_tree,
)
from lesionkit.challenge.jobs import discard_upload, fail_job, hold_job
from lesionkit.challenge.phases import get_challenge
from lesionkit.challenge.storage import clean_storage, scratch_folder, uploads_folder
from lesionkit.challenge.tables import CaseResult, Phase, Submission
from lesionkit.challenge.teams import bump_scores
from lesionkit.challenge.truth import load_truth, truth_folder
from lesionkit.io import InvalidInputError
from lesionkit.io.cohort import Case, load_cohort
from lesionkit.metrics import METRIC_KEYS, evaluate_pair, match_cases
from lesionkit.web.database import Database
from lesionkit.web.tables import utcnow

__all__ = ["SCORER_VERSION", "ScoredCase", "Scoring", "ScoringTask", "ScoringTimeout", "score_archive", "score_job",
           "score_limited", "uploads_folder"]

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


class ScoringTimeout(RuntimeError):
    """Scoring took longer than the job time limit."""


@dataclass(frozen=True)
class TruthRef:
    case_id: str
    subject: str
    session: str | None
    storage_name: str


@dataclass(frozen=True)
class ScoringTask:
    """What scoring needs of a phase, as plain values (sent to the scoring child process)."""

    name: str
    grid_shape: tuple[int, ...]
    grid_affine: tuple[tuple[float, ...], ...]
    max_unpacked_bytes: int
    max_members: int
    cases: tuple[TruthRef, ...]

    @classmethod
    def of(cls, phase: Phase) -> ScoringTask:
        return cls(phase.name, tuple(phase.grid_shape), tuple(tuple(r) for r in phase.grid_affine),
                   phase.max_unpacked_bytes, phase.max_members,
                   tuple(TruthRef(c.case_id, c.subject, c.session, c.storage_name) for c in phase.cases))


def _grid(phase: Phase | ScoringTask) -> Grid:
    return Grid(tuple(phase.grid_shape), np.array(phase.grid_affine, dtype=float))  # type: ignore[arg-type]


def _limits(phase: Phase | ScoringTask) -> ArchiveLimits:
    """A submission's caps: the phase's, plus one mask's size per member (the grid in float64 with the largest
    header accepted), and only NIfTI files written (anything else is listed as an extra, never unpacked)."""
    member = int(np.prod(phase.grid_shape)) * 8 + MAX_VOX_OFFSET + 2**16
    return ArchiveLimits(max_unpacked_bytes=phase.max_unpacked_bytes, max_members=phase.max_members,
                         max_member_bytes=member, only_suffixes=(".nii", ".nii.gz"))


def _predictions(folder: Path, files: list[str]) -> tuple[list[Case], list[str]]:
    """Cases (by subject and session) of the unpacked masks, and the files that are no prediction.

    Read with :func:`lesionkit.io.load_cohort` from the archive's root and from every BIDS derivative dataset
    in it (the official ``derivatives/atlas2_prediction/sub-*/ses-*/anat/*_mask.nii.gz`` layout)."""
    if not any(f.endswith((".nii", ".nii.gz")) for f in files):
        raise InvalidInputError("upload", "holds no .nii or .nii.gz masks")
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


def score_archive(archive: Path, phase: Phase | ScoringTask, storage: Path, display_name: str = "upload") -> Scoring:
    """Validate and score an uploaded archive against the phase's hidden truth (in this process, no time limit)."""
    t0 = time.perf_counter()
    grid = _grid(phase)
    scratch = scratch_folder(storage)
    try:
        files = extract_archive(archive, scratch, _limits(phase), display_name)
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


def _child(conn, archive: Path, task: ScoringTask, storage: Path, seconds: float) -> None:  # noqa: ANN001
    """The scoring child process: one result (or the refusal) back through ``conn``."""
    import signal

    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(int(seconds) + 60)  # an orphan (its worker was SIGKILLed) still ends soon after the limit
    try:
        conn.send(("started", None))
        conn.send(("ok", score_archive(archive, task, storage)))
    except InvalidInputError as error:
        conn.send(("invalid", str(error)))
    except Exception as error:  # reported as an internal error by the parent
        conn.send(("error", type(error).__name__))
    finally:
        conn.close()


@contextlib.contextmanager
def _may_fork() -> Iterator[None]:
    """Let a daemonic process (a Dask worker) start the scoring child: multiprocessing refuses children to
    daemons so that none outlive them, and ours cannot (it ends at the time limit; see :func:`_child`)."""
    config = multiprocessing.current_process()._config  # noqa: SLF001
    daemon = config.get("daemon")
    config["daemon"] = False
    try:
        yield
    finally:
        config["daemon"] = daemon


#: Longest wait for a scoring child to start.
STARTUP_S = 60.0


def _receive(receive, child, wait: float) -> tuple:  # noqa: ANN001
    if wait and not receive.poll(wait):
        raise RuntimeError("the scoring process did not start")
    try:
        return receive.recv()
    except EOFError:
        raise RuntimeError(f"the scoring process died (exit code {child.exitcode})") from None


def score_limited(archive: Path, task: ScoringTask, storage: Path, seconds: float) -> Scoring:
    """:func:`score_archive` in a child process, killed after ``seconds`` (:class:`ScoringTimeout`).

    Raises :class:`~lesionkit.io.InvalidInputError` for an invalid upload, :class:`RuntimeError` when the child
    failed or died."""
    # fork: the child starts in milliseconds with the worker's code as loaded (it touches no database
    # connection and leaves through os._exit, so the parent's connections are safe)
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(send, archive, task, storage, seconds), daemon=True)
    with _may_fork():
        child.start()
    send.close()
    try:
        kind, value = _receive(receive, child, STARTUP_S)
        if not receive.poll(seconds):
            raise ScoringTimeout(f"scoring took longer than the job time limit of {seconds:g} s; the job was stopped")
        kind, value = _receive(receive, child, 0)
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receive.close()
        if child.exitcode != 0:
            clean_storage(storage)  # a killed child leaves its scratch folder behind
    if kind == "invalid":
        raise InvalidInputError(None, value)
    if kind == "error":
        raise RuntimeError(f"scoring failed ({value})")
    return value


def score_job(db: Database, job_id: int, worker: str, time_limit: float | None = None) -> str:
    """Score the job's submission under the time limit (``time_limit``, else the challenge's ``job_seconds``)
    and store the results if this worker still holds the job; returns the submission's new status (``scored``,
    ``invalid`` or ``failed``). Unexpected errors propagate (the worker retries them)."""
    with db.read() as session:
        job = hold_job(session, job_id, worker)
        submission = session.get(Submission, job.submission_id)
        challenge = get_challenge(session)
        task, storage = ScoringTask.of(submission.phase), Path(challenge.storage)
        archive = uploads_folder(storage) / submission.archive_name
        submission_id, truth_version = submission.id, submission.phase.truth_version
        seconds = time_limit if time_limit is not None else challenge.job_seconds
    try:
        scoring = score_limited(archive, task, storage, seconds)
    except ScoringTimeout as error:
        fail_job(db, job_id, worker, str(error), retry=False)
        log.info("submission %d failed: %s", submission_id, error)
        return "failed"
    except InvalidInputError as error:
        _store_invalid(db, job_id, worker, submission_id, str(error))
        return "invalid"
    _store_scores(db, job_id, worker, submission_id, scoring, truth_version)
    log.info("submission %d scored: %d cases in %.1f s", submission_id, len(scoring.cases),
             scoring.timings["total_s"])
    return "scored"


def _store_invalid(db: Database, job_id: int, worker: str, submission_id: int, error: str) -> None:
    """An invalid upload: the reason recorded, the archive deleted (it counts toward the failure cap)."""
    with db.write() as session:
        job = hold_job(session, job_id, worker)
        sub = session.get(Submission, submission_id)
        sub.status, sub.error = "invalid", error
        sub.results.clear()
        sub.summary, sub.scored_at = {}, None
        job.status, job.finished_at, job.error, job.lease_expires_at = "done", utcnow(), error, None
        path = discard_upload(session, sub)
        bump_scores(session)
    path.unlink(missing_ok=True)
    log.info("submission %d invalid", submission_id)


def _store_scores(db: Database, job_id: int, worker: str, submission_id: int, scoring: Scoring,
                  truth_version: int) -> None:
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
        bump_scores(session)
