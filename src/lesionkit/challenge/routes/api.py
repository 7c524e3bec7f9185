"""The JSON API (``/api``, schema at ``/openapi.json``, a readable page at ``/api/docs``): bearer tokens only,
the same library calls and disclosure rules as the pages. An upload without a valid token is refused with 401
before its body is read."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

from fastapi import File, Form, HTTPException, Request, UploadFile
from pydantic import BaseModel
from sqlalchemy import select

from lesionkit.challenge import disclosure, leaderboard, phases
from lesionkit.challenge.routes.common import api, db_of
from lesionkit.challenge.routes.leaderboards import visible_board
from lesionkit.challenge.routes.submissions import body_cap, submit_upload
from lesionkit.challenge.submissions import can_view, submissions_left
from lesionkit.challenge.tables import Phase, Submission
from lesionkit.web.app import api_user
from lesionkit.web.tables import User
from lesionkit.web.uploads import limited_body_route

__all__ = ["PhaseOut", "SubmissionOut", "UserOut"]


class PhaseOut(BaseModel):
    name: str
    title: str
    open: bool
    opens_at: dt.datetime | None
    closes_at: dt.datetime | None
    parent: str | None
    hidden: bool
    leaderboard_visible: bool
    per_case_results: bool
    cases: int
    case_ids: list[str]
    max_submissions: int
    window_hours: float
    max_total: int | None
    max_failed: int
    submissions_left: int | None
    weight: float
    metrics: list[str]
    shown_metrics: list[str]
    significant_digits: int | None
    grid_shape: list[int]


class SubmissionOut(BaseModel):
    id: int
    phase: str
    team: str
    method: str
    description: str
    code_url: str
    status: str
    error: str | None
    created_at: dt.datetime
    scored_at: dt.datetime | None
    scorer_version: str | None
    summary: dict[str, float | str | None]
    missing_cases: list[str]
    extra_files: list[str]
    warnings: list[str]
    timings: dict[str, float]
    cases: list[dict[str, float | str | bool | None]] | None


class UserOut(BaseModel):
    name: str
    team: str
    is_admin: bool


class Problem(BaseModel):
    detail: str


_ERRORS = {401: {"model": Problem}, 404: {"model": Problem}}


def _need_api_user(request: Request, session=None) -> User:  # noqa: ANN001
    user = api_user(request, session)
    if user is None:
        raise HTTPException(401, "an API token is required (Authorization: Bearer …)",
                            headers={"WWW-Authenticate": "Bearer"})
    return user


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """Stored times are naive UTC; the API says so (RFC 3339 ``date-time`` needs an offset)."""
    return None if value is None else value.replace(tzinfo=dt.UTC)


def _phase_out(session, phase: Phase, user: User | None) -> PhaseOut:  # noqa: ANN001
    return PhaseOut(
        name=phase.name, title=phase.title, open=phases.is_open(phase), opens_at=_utc(phase.opens_at),
        closes_at=_utc(phase.closes_at), parent=phase.parent.name if phase.parent else None, hidden=phase.hidden,
        leaderboard_visible=phases.leaderboard_visible(phase, user),
        per_case_results=phases.per_case_visible(phase, user), cases=len(phase.cases),
        case_ids=[c.case_id for c in phase.cases], max_submissions=phase.max_submissions,
        window_hours=phase.window_hours, max_total=phase.max_total, max_failed=phase.max_failed,
        submissions_left=submissions_left(session, phase, user) if user is not None else None,
        weight=phase.weight, metrics=list(phase.metrics), shown_metrics=phases.shown_metrics(phase, user),
        significant_digits=phase.significant_digits, grid_shape=list(phase.grid_shape))


def _submission_out(submission: Submission, user: User) -> SubmissionOut:
    shown = disclosure.shown(submission, user)
    cases = [{k: v for k, v in row.items() if k != "pred_volume"} for row in shown["rows"]] or None
    return SubmissionOut(
        id=submission.id, phase=submission.phase.name, team=submission.team_name, method=submission.method,
        description=submission.description, code_url=submission.code_url, status=submission.status,
        error=submission.error, created_at=_utc(submission.created_at), scored_at=_utc(submission.scored_at),
        scorer_version=submission.scorer_version, summary=shown["summary"],
        missing_cases=submission.missing_cases or [], extra_files=submission.extra_files or [],
        warnings=submission.warnings or [], timings=submission.timings or {}, cases=cases)


@api.get("/phases", response_model=list[PhaseOut], summary="List the phases (with the case ids each expects)")
def api_phases(request: Request) -> list[PhaseOut]:
    with db_of(request).read() as session:
        user = api_user(request, session)
        return [_phase_out(session, p, user) for p in session.scalars(select(Phase).order_by(Phase.id))]


@api.get("/phases/{name}/leaderboard", summary="A phase's leaderboard (best first)",
         responses={403: {"model": Problem}, 404: {"model": Problem}})
def api_leaderboard(request: Request, name: str) -> list[dict[str, float | int | str | None]]:
    with db_of(request).read() as session:
        _, table = visible_board(session, name, api_user(request, session))
    return json.loads(leaderboard.leaderboard_json(table))


@api.get("/me", response_model=UserOut, responses=_ERRORS, summary="The token's user")
def api_me(request: Request) -> UserOut:
    user = _need_api_user(request)
    return UserOut(name=user.name, team=user.team_name, is_admin=user.is_admin)


def api_submit(
    request: Request,
    name: str,
    archive: Annotated[UploadFile, File(description="a .zip or .tar.gz of *_mask.nii.gz files")],
    method: Annotated[str, Form(min_length=1, max_length=120)],
    description: Annotated[str, Form(min_length=1, max_length=5000)],
    code_url: Annotated[str, Form(min_length=1, max_length=500, description="public code URL (http/https)")],
) -> SubmissionOut:
    user = _need_api_user(request)
    fields = {"method": method, "description": description, "code_url": code_url}
    submission_id = submit_upload(request, user.id, name, archive.file, fields)
    with db_of(request).read() as session:
        return _submission_out(session.get(Submission, submission_id), user)


def _authorised_cap(request: Request) -> tuple[int, str]:
    """Runs before FastAPI reads the body: no valid token → 401 now; else the body cap for this user."""
    _need_api_user(request)
    return body_cap(request)


# FastAPI parses the form before the endpoint runs: the token check and the cap must come before that.
api.add_api_route("/phases/{name}/submissions", api_submit, methods=["POST"], response_model=SubmissionOut,
                  status_code=201, summary="Upload a .zip or .tar.gz of masks; it is queued for scoring",
                  responses={**_ERRORS, 400: {"model": Problem}, 409: {"model": Problem}, 413: {"model": Problem},
                             429: {"model": Problem}},
                  route_class_override=limited_body_route(_authorised_cap))


@api.get("/submissions/{submission_id}", response_model=SubmissionOut, responses=_ERRORS,
         summary="A submission's status and scores (as the phase discloses them)")
def api_submission(request: Request, submission_id: int) -> SubmissionOut:
    with db_of(request).read() as session:
        user = _need_api_user(request, session)
        submission = session.get(Submission, submission_id) if abs(submission_id) < 2**62 else None
        if submission is None or not can_view(submission, user):
            raise HTTPException(404, "no such submission")
        return _submission_out(submission, user)

