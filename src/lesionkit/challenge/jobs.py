"""A durable scoring queue in the database: jobs are claimed under a lease that the worker renews by heartbeat.

A worker that dies (SIGKILL, power loss) simply stops renewing; once its lease expires the job is claimable
again, up to ``max_attempts``, after which it is ``failed`` with the reason. Results are written in the same
transaction that completes the job, and only by the worker that still holds it, so a submission is scored
exactly once however many workers crash or race. Claims run in ``BEGIN IMMEDIATE`` transactions on SQLite and
``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from lesionkit.challenge.storage import uploads_folder
from lesionkit.challenge.tables import Challenge, Job, Phase, Submission
from lesionkit.web.database import Database
from lesionkit.web.tables import utcnow

__all__ = ["LeaseLost", "claim_job", "discard_upload", "enqueue", "fail_job", "heartbeat", "hold_job", "pending_jobs",
           "rescore_phase"]

log = logging.getLogger("lesionkit.challenge")
DEFAULT_MAX_ATTEMPTS = 3


class LeaseLost(RuntimeError):
    """The job is no longer held by this worker (its lease expired and another worker took it)."""


def enqueue(session: Session, submission: Submission, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> Job:
    job = Job(submission_id=submission.id, max_attempts=max_attempts)
    submission.status = "queued"
    session.add(job)
    session.flush()
    return job


def claim_job(db: Database, worker: str, lease_seconds: float = 60.0) -> int | None:
    """Take the oldest claimable job (queued, or running with an expired lease); returns its id or None."""
    while True:
        discarded: Path | None = None
        with db.write() as session:
            now = utcnow()
            job = session.scalar(
                select(Job)
                .where(or_(Job.status == "queued", and_(Job.status == "running", Job.lease_expires_at < now)))
                .order_by(Job.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if job is None:
                return None
            submission = session.get(Submission, job.submission_id)
            if job.attempts < job.max_attempts:
                job.attempts += 1
                job.status, job.worker = "running", worker
                job.heartbeat_at, job.lease_expires_at = now, now + dt.timedelta(seconds=lease_seconds)
                submission.status = "scoring"
                log.info("job %d (submission %d) claimed by %s, attempt %d", job.id, job.submission_id, worker,
                         job.attempts)
                return job.id
            reason = f"scoring gave up after {job.attempts} attempts (the worker was lost each time)"
            if job.error:
                reason += f"; last error: {job.error}"
            discarded = _finish_failed(session, job, submission, reason, now)
            log.warning("job %d failed: %s", job.id, reason)
        discarded.unlink(missing_ok=True)  # after the commit: a rolled-back failure keeps its upload


def pending_jobs(db: Database) -> int:
    """Jobs not finished yet: queued, or running (held by a live worker, or by a dead one until its lease expires
    and the job is claimed again)."""
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(Job).where(Job.status.in_(("queued", "running")))))


def heartbeat(db: Database, job_id: int, worker: str, lease_seconds: float = 60.0) -> bool:
    """Renew the lease; False when the job is no longer this worker's."""
    with db.write() as session:
        now = utcnow()
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.worker == worker, Job.status == "running")
            .values(heartbeat_at=now, lease_expires_at=now + dt.timedelta(seconds=lease_seconds))
        )
        return result.rowcount == 1


def hold_job(session: Session, job_id: int, worker: str) -> Job:
    """Inside a write transaction: the job, locked, if this worker still holds it; else :class:`LeaseLost`."""
    job = session.scalar(select(Job).where(Job.id == job_id).with_for_update())
    if job is None or job.worker != worker or job.status != "running":
        raise LeaseLost(f"job {job_id} is no longer held by {worker}")
    return job


def discard_upload(session: Session, submission: Submission) -> Path:
    """Inside a write transaction: mark a judged (invalid or failed) submission's archive as gone and return its
    path, for the caller to delete once the transaction has committed."""
    submission.stored_bytes = 0
    storage = session.scalar(select(Challenge.storage))
    return uploads_folder(storage) / submission.archive_name


def _finish_failed(session: Session, job: Job, submission: Submission, reason: str, now: dt.datetime) -> Path:
    from lesionkit.challenge.teams import bump_scores

    job.status, job.error, job.finished_at, job.lease_expires_at = "failed", reason, now, None
    submission.status, submission.error = "failed", reason
    bump_scores(session)  # a failed rescore leaves the leaderboards
    return discard_upload(session, submission)


def fail_job(db: Database, job_id: int, worker: str, reason: str, retry: bool = True) -> None:
    """Record a scoring error: back to the queue while attempts remain (when ``retry``), else failed (and the
    upload deleted)."""
    discarded = None
    with db.write() as session:
        job = hold_job(session, job_id, worker)
        submission = session.get(Submission, job.submission_id)
        job.error = reason
        if retry and job.attempts < job.max_attempts:
            job.status, job.worker, job.lease_expires_at = "queued", None, None
            submission.status = "queued"
        else:
            discarded = _finish_failed(session, job, submission, reason, utcnow())
    if discarded is not None:
        discarded.unlink(missing_ok=True)


def rescore_phase(db: Database, phase_name: str) -> int:
    """Queue every finished submission of a phase whose upload is still stored (invalid and failed ones are
    deleted when judged) again, after a truth or scorer change; returns the count."""
    with db.write() as session:
        phase = session.scalar(select(Phase).where(Phase.name == phase_name))
        if phase is None:
            raise ValueError(f"no phase {phase_name!r}")
        pending = select(Job.submission_id).where(Job.status.in_(("queued", "running")))
        subs = session.scalars(
            select(Submission).where(Submission.phase_id == phase.id, Submission.status.in_(("scored", "failed",
                                     "invalid")), Submission.stored_bytes > 0, Submission.id.not_in(pending))
        ).all()
        for submission in subs:
            enqueue(session, submission)
        log.info("phase %s: %d submissions queued for rescoring", phase_name, len(subs))
        return len(subs)
