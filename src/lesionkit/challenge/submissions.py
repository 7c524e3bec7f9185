"""Participants' submissions: the rules for accepting one (phase open, parent phase passed, limit per rolling
window not used up — failed and invalid submissions do not count) and who may see what."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lesionkit.challenge.jobs import enqueue
from lesionkit.challenge.phases import get_challenge, is_open
from lesionkit.challenge.scoring import uploads_folder
from lesionkit.challenge.tables import Phase, Submission
from lesionkit.io import atomic_path
from lesionkit.web.database import Database
from lesionkit.web.tables import User, utcnow

__all__ = [
    "SubmissionRefused",
    "UploadTooLarge",
    "can_view",
    "check_may_submit",
    "create_submission",
    "save_upload",
    "submissions_left",
    "submit",
]

#: States that use up the submission limit.
COUNTED = ("queued", "scoring", "scored")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


class SubmissionRefused(ValueError):
    """The submission breaks a phase rule; the message is safe to show."""


class UploadTooLarge(SubmissionRefused):
    """The upload is larger than the phase's cap."""


def save_upload(stream: BinaryIO, storage: Path | str, max_bytes: int) -> tuple[str, int]:
    """Copy an uploaded archive into storage under an opaque name, refusing it past ``max_bytes``."""
    name = f"{uuid.uuid4().hex}.upload"
    target = uploads_folder(storage) / name
    size = 0
    with atomic_path(target) as tmp, tmp.open("wb") as out:
        while chunk := stream.read(1 << 20):
            size += len(chunk)
            if size > max_bytes:
                raise UploadTooLarge(f"upload is larger than this phase's limit of {max_bytes} bytes")
            out.write(chunk)
    return name, size


def _team_filter(user: User):  # noqa: ANN202
    return Submission.team_id == user.team_id if user.team_id is not None else Submission.user_id == user.id


def submissions_left(session: Session, phase: Phase, user: User, now: dt.datetime | None = None) -> int:
    now = now or utcnow()
    since = now - dt.timedelta(hours=phase.window_hours)
    used = session.scalar(
        select(func.count()).select_from(Submission).where(
            Submission.phase_id == phase.id, _team_filter(user), Submission.status.in_(COUNTED),
            Submission.created_at >= since,
        )
    )
    return max(0, phase.max_submissions - int(used or 0))


def check_may_submit(session: Session, phase: Phase, user: User) -> None:
    if not is_open(phase) and not user.is_admin:
        raise SubmissionRefused(f"phase {phase.name} is not open for submissions")
    if phase.parent is not None and not user.is_admin:
        passed = session.scalar(
            select(func.count()).select_from(Submission).where(
                Submission.phase_id == phase.parent_id, _team_filter(user), Submission.status == "scored"
            )
        )
        if not passed:
            raise SubmissionRefused(f"a scored submission to phase {phase.parent.name} is needed first")
    if submissions_left(session, phase, user) <= 0:
        raise SubmissionRefused(
            f"submission limit reached: {phase.max_submissions} per {phase.window_hours:g} h "
            "(failed and invalid submissions do not count)"
        )


def _clean_metadata(method: str, description: str, code_url: str) -> tuple[str, str, str]:
    method, description, code_url = method.strip(), description.strip(), code_url.strip()
    if not method or len(method) > 120:
        raise SubmissionRefused("a method name (1–120 characters) is required")
    if not description or len(description) > 5000:
        raise SubmissionRefused("a description (1–5000 characters) is required")
    if not _URL.match(code_url) or len(code_url) > 500:
        raise SubmissionRefused("a public code URL (http:// or https://) is required")
    return method, description, code_url


def create_submission(session: Session, phase: Phase, user: User, upload: BinaryIO, method: str, description: str,
                      code_url: str) -> Submission:
    """Check the rules, store the upload and queue it for scoring, all inside the caller's write transaction
    (a script's call; the server uses :func:`submit`, which copies the upload outside the transaction)."""
    method, description, code_url = _clean_metadata(method, description, code_url)
    check_may_submit(session, phase, user)
    archive_name, size = save_upload(upload, get_challenge(session).storage, phase.max_upload_bytes)
    return _record(session, phase, user, archive_name, size, method, description, code_url)


def submit(db: Database, phase_name: str, user_id: int, upload: BinaryIO, method: str, description: str,
           code_url: str) -> int:
    """The server's submission: rules checked, the upload copied into storage with no database lock held
    (SQLite has one writer; a large upload must not stall the workers' heartbeats), then the rules checked
    again and the submission queued in one short write transaction. Returns the submission id."""
    method, description, code_url = _clean_metadata(method, description, code_url)
    with db.read() as session:
        phase, user = _phase_named(session, phase_name), session.get(User, user_id)
        check_may_submit(session, phase, user)
        storage, limit = get_challenge(session).storage, phase.max_upload_bytes
    archive_name, size = save_upload(upload, storage, limit)
    try:
        with db.write() as session:
            phase, user = _phase_named(session, phase_name), session.get(User, user_id)
            check_may_submit(session, phase, user)  # a parallel upload may have used the last slot
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
        description=description, code_url=code_url, archive_name=archive_name, upload_bytes=size,
    )
    session.add(submission)
    session.flush()
    enqueue(session, submission)
    return submission


def can_view(submission: Submission, user: User | None) -> bool:
    """Its submitter, their team, and organisers."""
    if user is None:
        return False
    return user.is_admin or submission.user_id == user.id or (
        user.team_id is not None and submission.team_id == user.team_id
    )

