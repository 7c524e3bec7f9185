"""Participants' submissions: every rule for accepting one, in one place that the pages, the API and scripts
all call (:func:`submit`, :func:`create_submission`):

- the phase is open, the submitter's team is not frozen, the parent phase was passed (by them or their team);
- uploads per person per 10 minutes (:data:`UPLOADS_PER_10_MIN`);
- per rolling window and (optionally, by default on hidden phases) in total, counted per person *and* per team:
  both must have room, so a new team or a new member refreshes nothing;
- invalid and failed submissions count toward their own cap (:attr:`Phase.max_failed`), so probing with
  broken uploads is not free;
- storage quotas per person and in total (:attr:`Challenge.user_quota_bytes`, ``total_quota_bytes``): an
  upload is refused as soon as it would pass what is left.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from lesionkit.challenge import teams
from lesionkit.challenge.jobs import enqueue
from lesionkit.challenge.phases import get_challenge, is_open
from lesionkit.challenge.storage import uploads_folder
from lesionkit.challenge.tables import Phase, Submission
from lesionkit.io import atomic_path
from lesionkit.web import auth
from lesionkit.web.database import Database
from lesionkit.web.tables import Team, User, utcnow

__all__ = [
    "UPLOADS_PER_10_MIN",
    "SubmissionRefused",
    "UploadTooLarge",
    "can_view",
    "check_upload_rate",
    "check_may_submit",
    "create_submission",
    "owned_by",
    "quota_left",
    "save_upload",
    "submissions_left",
    "submit",
    "upload_cap",
]

#: States that use up the submission limits; :data:`FAILED` states use up the failure cap instead.
COUNTED = ("queued", "scoring", "scored")
FAILED = ("invalid", "failed")
UPLOADS_PER_10_MIN = 10
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


class SubmissionRefused(ValueError):
    """The submission breaks a phase rule; the message is safe to show."""


class UploadTooLarge(SubmissionRefused):
    """The upload is larger than the phase's cap."""


def save_upload(stream: BinaryIO, storage: Path | str, max_bytes: int, message: str | None = None) -> tuple[str, int]:
    """Copy an uploaded archive into storage under an opaque name, refusing it past ``max_bytes``."""
    name = f"{uuid.uuid4().hex}.upload"
    target = uploads_folder(storage) / name
    size = 0
    with atomic_path(target) as tmp, tmp.open("wb") as out:
        while chunk := stream.read(1 << 20):
            size += len(chunk)
            if size > max_bytes:
                raise UploadTooLarge(message or f"upload is larger than the limit of {max_bytes} bytes")
            out.write(chunk)
    return name, size


def owned_by(session: Session, user: User):  # noqa: ANN201
    """A filter: the user's own submissions and their current team's (teams merged into it included)."""
    if user.team_id is None:
        return Submission.user_id == user.id
    team = session.get(Team, user.team_id)
    return or_(Submission.user_id == user.id, Submission.team_id.in_(teams.team_ids(session, team)))


def _count(session: Session, phase: Phase, who, states, since: dt.datetime | None = None) -> int:  # noqa: ANN001
    query = select(func.count()).select_from(Submission).where(Submission.phase_id == phase.id, who,
                                                              Submission.status.in_(states))
    if since is not None:
        query = query.where(Submission.created_at >= since)
    return int(session.scalar(query) or 0)


def _counters(session: Session, user: User) -> list:
    """Who the limits count: the person, and their team (with the teams merged into it)."""
    who = [Submission.user_id == user.id]
    if user.team_id is not None:
        who.append(Submission.team_id.in_(teams.team_ids(session, session.get(Team, user.team_id))))
    return who


def submissions_left(session: Session, phase: Phase, user: User, now: dt.datetime | None = None) -> int:
    """What the person (and their team) may still submit now: the tightest of the window and total caps."""
    since = (now or utcnow()) - dt.timedelta(hours=phase.window_hours)
    left = phase.max_submissions
    for who in _counters(session, user):
        left = min(left, phase.max_submissions - _count(session, phase, who, COUNTED, since))
        if phase.max_total is not None:
            left = min(left, phase.max_total - _count(session, phase, who, COUNTED))
    return max(0, left)


def _failures_left(session: Session, phase: Phase, user: User) -> int:
    return max(0, min(phase.max_failed - _count(session, phase, who, FAILED) for who in _counters(session, user)))


def quota_left(session: Session, user: User) -> int:
    """Upload bytes the user may still store: the smaller of their own and the challenge's remaining quota."""
    challenge = get_challenge(session)
    used = session.scalar(select(func.coalesce(func.sum(Submission.stored_bytes), 0))
                          .where(Submission.user_id == user.id))
    total = session.scalar(select(func.coalesce(func.sum(Submission.stored_bytes), 0)))
    return max(0, min(challenge.user_quota_bytes - int(used), challenge.total_quota_bytes - int(total)))


def check_may_submit(session: Session, phase: Phase, user: User) -> None:
    """Raise :class:`SubmissionRefused` naming the rule a new submission would break (organisers are exempt
    from the calendar and the parent phase, not from the limits)."""
    if not is_open(phase) and not user.is_admin:
        raise SubmissionRefused(f"phase {phase.name} is not open for submissions")
    team = session.get(Team, user.team_id) if user.team_id is not None else None
    if team is not None and team.frozen:
        raise SubmissionRefused(f"team {team.name} is frozen by the organisers")
    if phase.parent is not None and not user.is_admin:
        passed = _count(session, phase.parent, owned_by(session, user), ("scored",))
        if not passed:
            raise SubmissionRefused(f"a scored submission to phase {phase.parent.name} is needed first")
    if submissions_left(session, phase, user) <= 0:
        total = f", {phase.max_total} in all" if phase.max_total is not None else ""
        raise SubmissionRefused(
            f"submission limit reached: {phase.max_submissions} per {phase.window_hours:g} h{total}, "
            "counted per person and per team")
    if _failures_left(session, phase, user) <= 0:
        raise SubmissionRefused(f"limit of {phase.max_failed} invalid or failed submissions in this phase reached")
    if quota_left(session, user) <= 0:
        raise SubmissionRefused("storage quota used up (scored uploads are kept for rescoring; ask the organisers)")


def check_upload_rate(session: Session, user: User) -> None:
    """Count one upload attempt of ``user``; :class:`~lesionkit.web.auth.RateLimited` past
    :data:`UPLOADS_PER_10_MIN` (inside a write transaction)."""
    auth.check_rate(session, f"upload:{user.id}", UPLOADS_PER_10_MIN, dt.timedelta(minutes=10))
    auth.record_rate_event(session, f"upload:{user.id}")


def _clean_metadata(method: str, description: str, code_url: str) -> tuple[str, str, str]:
    method, description, code_url = method.strip(), description.strip(), code_url.strip()
    if not method or len(method) > 120:
        raise SubmissionRefused("a method name (1–120 characters) is required")
    if not description or len(description) > 5000:
        raise SubmissionRefused("a description (1–5000 characters) is required")
    if not _URL.match(code_url) or len(code_url) > 500:
        raise SubmissionRefused("a public code URL (http:// or https://) is required")
    return method, description, code_url


def upload_cap(session: Session, phase: Phase, user: User) -> tuple[int, str]:
    """Bytes this upload may have, and the message when it has more (the phase's cap or what the quota leaves)."""
    quota = quota_left(session, user)
    if quota < phase.max_upload_bytes:
        return quota, f"upload is larger than the {quota} bytes left of your storage quota"
    return phase.max_upload_bytes, f"upload is larger than this phase's limit of {phase.max_upload_bytes} bytes"


def create_submission(session: Session, phase: Phase, user: User, upload: BinaryIO, method: str, description: str,
                      code_url: str) -> Submission:
    """Check the rules, store the upload and queue it for scoring, all inside the caller's write transaction
    (a script's call; the server uses :func:`submit`, which copies the upload outside the transaction)."""
    method, description, code_url = _clean_metadata(method, description, code_url)
    check_may_submit(session, phase, user)
    check_upload_rate(session, user)
    archive_name, size = save_upload(upload, get_challenge(session).storage, *upload_cap(session, phase, user))
    return _record(session, phase, user, archive_name, size, method, description, code_url)


def submit(db: Database, phase_name: str, user_id: int, upload: BinaryIO, method: str, description: str,
           code_url: str) -> int:
    """The server's submission: rules checked and the attempt counted, the upload copied into storage with no
    database lock held (SQLite has one writer; a large upload must not stall the workers' heartbeats), then the
    rules checked again and the submission queued in one short write transaction. Returns the submission id."""
    method, description, code_url = _clean_metadata(method, description, code_url)
    with db.write() as session:
        phase, user = _phase_named(session, phase_name), session.get(User, user_id)
        check_may_submit(session, phase, user)
        check_upload_rate(session, user)
        storage, (limit, message) = get_challenge(session).storage, upload_cap(session, phase, user)
    archive_name, size = save_upload(upload, storage, limit, message)
    try:
        with db.write() as session:
            phase, user = _phase_named(session, phase_name), session.get(User, user_id)
            check_may_submit(session, phase, user)  # a parallel upload may have used the last slot
            if size > quota_left(session, user):
                raise SubmissionRefused("storage quota used up by uploads made meanwhile")
            return _record(session, phase, user, archive_name, size, method, description, code_url).id
    except BaseException:
        (uploads_folder(storage) / archive_name).unlink(missing_ok=True)
        raise


def _phase_named(session: Session, name: str) -> Phase:
    phase = session.scalar(select(Phase).where(Phase.name == name))
    if phase is None:
        raise LookupError(f"no phase {name!r}")
    return phase


def _record(session: Session, phase: Phase, user: User, archive_name: str, size: int, method: str, description: str,
            code_url: str) -> Submission:
    submission = Submission(
        phase_id=phase.id, user_id=user.id, team_id=user.team_id, team_name=user.team_name, method=method,
        description=description, code_url=code_url, archive_name=archive_name, upload_bytes=size, stored_bytes=size,
    )
    session.add(submission)
    session.flush()
    enqueue(session, submission)
    return submission


def can_view(submission: Submission, user: User | None) -> bool:
    """Its submitter, the members of the team it was made for, and organisers."""
    if user is None:
        return False
    return user.is_admin or submission.user_id == user.id or (
        user.team_id is not None and submission.team_id == user.team_id
    )

