"""HTTP routes of the challenge server: server-rendered pages and the JSON API (``/api``, OpenAPI at
``/openapi.json``). Each route parses its request, calls one library function and renders the result.

Pages authenticate with the opaque session cookie and check CSRF on every form; the API takes only bearer
tokens. Hidden truth never reaches a route: scoring stores metrics only, and per-case results pass
:func:`lesionkit.challenge.phases.per_case_visible` first.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from lesionkit.challenge import charts, jobs, leaderboard, phases
from lesionkit.challenge.scoring import SCORER_VERSION
from lesionkit.challenge.submissions import SubmissionRefused, UploadTooLarge, can_view, submit
from lesionkit.challenge.submissions import submissions_left as _left
from lesionkit.challenge.tables import Job, Phase, Submission
from lesionkit.metrics import ATLAS_RANKING_METRICS, METRIC_KEYS
from lesionkit.web import auth
from lesionkit.web.app import SESSION_COOKIE, api_user, check_csrf, page_user, render, set_session_cookie
from lesionkit.web.tables import User
from lesionkit.web.uploads import limit_body, limited_body_route

__all__ = ["api", "pages"]

log = logging.getLogger("lesionkit.challenge")
pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["challenge"])
UPLOADS_PER_10_MIN = 10
#: Per-case keys a participant may see (never ``truth_volume`` or the truth's lesion count).
PUBLIC_CASE_KEYS = METRIC_KEYS
_FORM_LIMITS = {"max_files": 1, "max_fields": 30}
#: Room for a form's other fields and multipart framing on top of an upload cap.
FORM_SLACK_BYTES = 2**20
#: Cap on an organiser's truth archive upload (unpacked: :data:`lesionkit.challenge.truth.TRUTH_ARCHIVE_LIMITS`).
TRUTH_UPLOAD_BYTES = 2**30
#: Column titles of the metric keys in pages.
LABELS = {"dice": "Dice", "hd": "HD (mm)", "hd95": "HD95 (mm)", "assd": "ASSD (mm)", "tpr": "TPR",
          "precision": "Precision", "volume_difference": "Volume diff. (mm³)",
          "lesion_count_difference": "Lesion-count diff.", "lesion_f1": "Lesion F1"}


def _db(request: Request):  # noqa: ANN202
    return request.app.state.db


def _need_user(request: Request) -> User:
    user = page_user(request)
    if user is None:
        raise HTTPException(401, "sign in first")
    return user


def _need_admin(request: Request) -> User:
    user = _need_user(request)
    if not user.is_admin:
        raise HTTPException(403, "organisers only")
    return user


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _phase_or_404(session, name: str) -> Phase:  # noqa: ANN001
    phase = phases.get_phase(session, name)
    if phase is None:
        raise HTTPException(404, "no such phase")
    return phase


def _upload_cap(request: Request) -> tuple[int, str]:
    """The body cap of an upload to the phase in the path (an unknown phase: the form's slack; the route 404s)."""
    with _db(request).read() as session:
        phase = phases.get_phase(session, str(request.path_params.get("name", "")))
        limit = phase.max_upload_bytes if phase is not None else 0
    return limit + FORM_SLACK_BYTES, f"upload is larger than this phase's limit of {limit} bytes"


async def _capped_form(request: Request, cap: tuple[int, str]):  # noqa: ANN202
    """The request's form, read under ``cap`` (413 as soon as the streamed body passes it)."""
    return await limit_body(request, *cap).form(**_FORM_LIMITS)


def _case_rows(submission: Submission) -> list[dict]:
    return [{"case_id": r.case_id, "missing": r.missing, **{k: r.metrics.get(k) for k in PUBLIC_CASE_KEYS}}
            for r in submission.results]


# --- pages: accounts ---------------------------------------------------------------------------------------

@pages.get("/", response_class=HTMLResponse)
def home(request: Request):  # noqa: ANN201
    with _db(request).read() as session:
        challenge = phases.get_challenge(session)
        rows = [{"phase": p, "open": phases.is_open(p), "cases": len(p.cases),
                 "board": phases.leaderboard_visible(p, page_user(request))}
                for p in session.scalars(select(Phase).order_by(Phase.id))]
        return render(request, "home.html", {"challenge": challenge, "phases": rows})


@pages.get("/signup", response_class=HTMLResponse)
def signup_form(request: Request):  # noqa: ANN201
    return render(request, "signup.html")


@pages.post("/signup")
async def signup(request: Request):  # noqa: ANN201
    form = await request.form(**_FORM_LIMITS)
    check_csrf(request, form)
    try:
        with _db(request).write() as session:
            auth.check_rate(session, f"signup:{_client(request)}", 20, dt.timedelta(hours=1))
            auth.record_rate_event(session, f"signup:{_client(request)}")
            user = auth.create_user(session, str(form.get("name", "")), str(form.get("email", "")),
                                    str(form.get("password", "")))
            if str(form.get("team", "")).strip():
                auth.join_team(session, user, str(form.get("team")))
            token = auth.start_session(session, user)
    except auth.AuthError as error:
        code = 429 if isinstance(error, auth.RateLimited) else 400
        return render(request, "signup.html", {"flash": str(error), "flash_kind": "error", "form": form},
                      status_code=code)
    log.info("new participant signed up")
    response = _redirect("/")
    set_session_cookie(request, response, token)
    return response


@pages.get("/login", response_class=HTMLResponse)
def login_form(request: Request):  # noqa: ANN201
    return render(request, "login.html")


@pages.post("/login")
async def login(request: Request):  # noqa: ANN201
    form = await request.form(**_FORM_LIMITS)
    check_csrf(request, form)
    with _db(request).write() as session:  # committed even when refused: the failed attempt must count
        try:
            user = auth.authenticate(session, str(form.get("login", "")), str(form.get("password", "")),
                                     _client(request))
        except auth.AuthError as error:
            refused = error
        else:
            refused, token = None, auth.start_session(session, user)
    if refused is not None:
        code = 429 if isinstance(refused, auth.RateLimited) else 400
        return render(request, "login.html", {"flash": str(refused), "flash_kind": "error"}, status_code=code)
    response = _redirect(str(form.get("next") or "/") if str(form.get("next", "")).startswith("/") else "/")
    set_session_cookie(request, response, token)
    return response


@pages.post("/logout")
async def logout(request: Request):  # noqa: ANN201
    form = await request.form(**_FORM_LIMITS)
    check_csrf(request, form)
    with _db(request).write() as session:
        auth.end_session(session, request.cookies.get(SESSION_COOKIE))
    response = _redirect("/")
    set_session_cookie(request, response, None)
    return response


@pages.get("/account", response_class=HTMLResponse)
def account(request: Request):  # noqa: ANN201
    user = _need_user(request)
    return render(request, "account.html", {"user": user, "new_token": None})


@pages.post("/account/team")
async def account_team(request: Request):  # noqa: ANN201
    user = _need_user(request)
    form = await request.form(**_FORM_LIMITS)
    check_csrf(request, form)
    try:
        with _db(request).write() as session:
            auth.join_team(session, session.get(User, user.id), str(form.get("team", "")))
    except auth.AuthError as error:
        return render(request, "account.html", {"flash": str(error), "flash_kind": "error"}, status_code=400)
    return _redirect("/account")


@pages.post("/account/token", response_class=HTMLResponse)
async def account_token(request: Request):  # noqa: ANN201
    user = _need_user(request)
    form = await request.form(**_FORM_LIMITS)
    check_csrf(request, form)
    with _db(request).write() as session:
        token = auth.create_api_token(session, session.get(User, user.id), str(form.get("label", "")))
    return render(request, "account.html", {"new_token": token})


# --- pages: phases, submissions, leaderboards --------------------------------------------------------------

@pages.get("/phases/{name}", response_class=HTMLResponse)
def phase_page(request: Request, name: str):  # noqa: ANN201
    user = page_user(request)
    with _db(request).read() as session:
        phase = _phase_or_404(session, name)
        mine = []
        left = None
        if user is not None:
            owner = Submission.team_id == user.team_id if user.team_id else Submission.user_id == user.id
            mine = list(session.scalars(select(Submission).where(Submission.phase_id == phase.id, owner)
                                        .order_by(Submission.id.desc())))
            left = _left(session, phase, user)
        return render(request, "phase.html", {"phase": phase, "open": phases.is_open(phase), "mine": mine,
                                              "left": left, "cases": len(phase.cases),
                                              "images": [c for c in phase.cases if c.image_name]})


@pages.post("/phases/{name}/submit")
async def submit_page(request: Request, name: str):  # noqa: ANN201
    user = _need_user(request)
    with _db(request).read() as session:
        _phase_or_404(session, name)
    form = await _capped_form(request, _upload_cap(request))
    try:
        check_csrf(request, form)
        upload = form.get("archive")
        if upload is None or isinstance(upload, str):
            raise HTTPException(400, "choose a .zip or .tar.gz archive of masks to upload")
        try:  # copied into storage in a worker thread: the event loop keeps serving other requests
            submission_id = await run_in_threadpool(_submit, request, user, name, upload.file, form)
        except UploadTooLarge as error:
            raise HTTPException(413, str(error)) from None
        except (SubmissionRefused, auth.RateLimited) as error:
            raise HTTPException(429 if isinstance(error, auth.RateLimited) else 409, str(error)) from None
    finally:
        await form.close()
    return _redirect(f"/submissions/{submission_id}")


def _submit(request: Request, user: User, phase_name: str, stream, form) -> int:  # noqa: ANN001
    with _db(request).write() as session:
        auth.check_rate(session, f"upload:{user.id}", UPLOADS_PER_10_MIN, dt.timedelta(minutes=10))
        auth.record_rate_event(session, f"upload:{user.id}")
    try:
        submission_id = submit(_db(request), phase_name, user.id, stream, str(form.get("method", "")),
                               str(form.get("description", "")), str(form.get("code_url", "")))
    except LookupError:
        raise HTTPException(404, "no such phase") from None
    log.info("submission %d queued for phase %s", submission_id, phase_name)
    return submission_id


@pages.get("/submissions/{submission_id}", response_class=HTMLResponse)
def submission_page(request: Request, submission_id: int):  # noqa: ANN201
    user = _need_user(request)
    with _db(request).read() as session:
        submission = session.get(Submission, submission_id)
        if submission is None or not can_view(submission, user):
            raise HTTPException(404, "no such submission")
        phase = submission.phase
        per_case = phases.per_case_visible(phase, user) and submission.status == "scored"
        rows = _case_rows(submission) if per_case else []
        context = {"s": submission, "phase": phase, "per_case": per_case, "rows": rows, "keys": PUBLIC_CASE_KEYS,
                   "summary_keys": [k for k in METRIC_KEYS if k in submission.summary]}
        if per_case and rows:
            volume = [r.metrics.get("truth_volume") for r in submission.results]
            context["scatter"] = charts.scatter_svg(volume, [r["dice"] for r in rows], "Dice against lesion volume",
                                                    "true lesion volume (mm³, log)", "Dice")
            context["boxes"] = charts.box_svg({k: [r[k] for r in rows] for k in ("dice", "lesion_f1", "precision",
                                                                                  "tpr")}, "Distributions")
        return render(request, "submission.html", context)


def _board(request: Request, name: str):  # noqa: ANN202
    user = page_user(request)
    with _db(request).read() as session:
        phase = _phase_or_404(session, name)
        if not phases.leaderboard_visible(phase, user):
            raise HTTPException(403, f"the leaderboard of phase {phase.name} is published when the phase closes")
        return phase, leaderboard.phase_leaderboard(session, phase)


@pages.get("/phases/{name}/leaderboard", response_class=HTMLResponse)
def leaderboard_page(request: Request, name: str):  # noqa: ANN201
    phase, table = _board(request, name)
    return render(request, "leaderboard.html", {"phase": phase, "rows": table.to_dict(orient="records"),
                                                "metrics": phase.metrics})


@pages.get("/phases/{name}/leaderboard.csv")
def leaderboard_csv(request: Request, name: str):  # noqa: ANN201
    phase, table = _board(request, name)
    return PlainTextResponse(leaderboard.leaderboard_csv(table), media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="{phase.name}-leaderboard.csv"'})


@pages.get("/phases/{name}/leaderboard.json")
def leaderboard_json(request: Request, name: str):  # noqa: ANN201
    _, table = _board(request, name)
    return Response(leaderboard.leaderboard_json(table), media_type="application/json")


@pages.get("/leaderboard", response_class=HTMLResponse)
def combined_page(request: Request):  # noqa: ANN201
    with _db(request).read() as session:
        table, shown = leaderboard.combined_leaderboard(session, page_user(request))
        boards = [{"phase": p} for p in shown]
        return render(request, "combined.html", {"rows": table.to_dict(orient="records"), "phases": shown,
                                                 "boards": boards, "metrics": shown[0].metrics if shown else []})


@pages.get("/phases/{name}/images/{image}")
def phase_image(request: Request, name: str, image: str):  # noqa: ANN201
    with _db(request).read() as session:
        phase = _phase_or_404(session, name)
        names = {c.image_name for c in phase.cases if c.image_name}
        if image not in names:
            raise HTTPException(404, "no such image")
        folder = phases.get_challenge(session).storage
    return FileResponse(Path(folder) / "images" / phase.name / image, media_type="application/gzip")


# --- pages: organisers -------------------------------------------------------------------------------------

@pages.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request):  # noqa: ANN201
    _need_admin(request)
    with _db(request).read() as session:
        all_phases = list(session.scalars(select(Phase).order_by(Phase.id)))
        recent = list(session.scalars(select(Submission).order_by(Submission.id.desc()).limit(50)))
        queue = list(session.scalars(select(Job).order_by(Job.id.desc()).limit(50)))
        return render(request, "admin.html", {"phases": all_phases, "recent": recent, "jobs": queue,
                                              "scorer": SCORER_VERSION, "metric_keys": METRIC_KEYS})


def _when(text: str) -> dt.datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise HTTPException(400, f"not a date and time: {text[:40]!r} (use YYYY-MM-DDTHH:MM, UTC)") from None
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value  # stored as naive UTC


def _metrics(form) -> list[str]:  # noqa: ANN001
    return [m.strip() for m in str(form.get("metrics", "")).split(",") if m.strip()]


def _choice(form, key: str, yes: str, no: str) -> bool | None:  # noqa: ANN001
    """A three-way select: ``yes`` → True, ``no`` → False, anything else → None (the phase type's default)."""
    value = str(form.get(key, ""))
    return True if value == yes else False if value == no else None


def _new_phase_settings(form) -> phases.PhaseSettings:  # noqa: ANN001
    """The new-phase form as :class:`~lesionkit.challenge.phases.PhaseSettings` (ValueError for a bad number)."""
    weight = str(form.get("weight", "")).strip()
    return phases.PhaseSettings(
        title=str(form.get("title", "")).strip(), opens_at=_when(str(form.get("opens_at", ""))),
        closes_at=_when(str(form.get("closes_at", ""))), parent=str(form.get("parent", "")) or None,
        hidden=form.get("hidden") == "on", leaderboard_now=_choice(form, "leaderboard", "now", "after_close"),
        show_per_case=_choice(form, "per_case", "show", "withhold"),
        max_submissions=int(str(form.get("max_submissions", "5"))),
        window_hours=float(str(form.get("window_hours", "24"))), weight=float(weight) if weight else None,
        metrics=_metrics(form) or list(ATLAS_RANKING_METRICS), entry_policy=str(form.get("entry_policy", "best")),
    )


def _truth_upload(form):  # noqa: ANN001, ANN202
    upload = form.get("truth")
    if upload is None or isinstance(upload, str):
        raise HTTPException(400, "choose a .zip or .tar.gz archive of the true masks")
    return upload.file


_TRUTH_CAP = (TRUTH_UPLOAD_BYTES + FORM_SLACK_BYTES, f"truth archive is larger than the limit of {TRUTH_UPLOAD_BYTES} "
              "bytes (give larger truth sets with `lesionkit challenge init --truth`)")


def _new_phase_page(request: Request, values: dict, flash: str | None = None, status_code: int = 200):  # noqa: ANN202
    with _db(request).read() as session:
        names = list(session.scalars(select(Phase.name).order_by(Phase.id)))
    return render(request, "admin_phase.html", {"phase_names": names, "values": values, "metric_keys": METRIC_KEYS,
                                                "default_metrics": ",".join(ATLAS_RANKING_METRICS), "flash": flash,
                                                "flash_kind": "error" if flash else None}, status_code=status_code)


@pages.get("/admin/phases/new", response_class=HTMLResponse)
def admin_new_phase(request: Request):  # noqa: ANN201
    _need_admin(request)
    return _new_phase_page(request, {})


@pages.post("/admin/phases")
async def admin_create_phase(request: Request):  # noqa: ANN201
    """The web form of ``lesionkit challenge init``: the same :func:`~lesionkit.challenge.phases.add_phase` call,
    with the truth archive streamed from the upload (unpacked with a submission's caps and header checks)."""
    _need_admin(request)
    form = await _capped_form(request, _TRUTH_CAP)
    try:
        check_csrf(request, form)
        truth = _truth_upload(form)
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
        try:
            settings = _new_phase_settings(form)
            await run_in_threadpool(phases.add_phase, _db(request), str(form.get("name", "")).strip(), truth,
                                    settings)
        except ValueError as error:  # and InvalidInputError: the organiser's own archive, paths inside it only
            return _new_phase_page(request, values, str(error), status_code=400)
    finally:
        await form.close()
    return _redirect("/admin")


@pages.post("/admin/phases/{name}")
async def admin_update_phase(request: Request, name: str):  # noqa: ANN201
    _need_admin(request)
    form = await request.form(**_FORM_LIMITS)
    check_csrf(request, form)
    try:
        changes = {
            "title": str(form.get("title", "")), "opens_at": _when(str(form.get("opens_at", ""))),
            "closes_at": _when(str(form.get("closes_at", ""))), "parent": str(form.get("parent", "")) or None,
            "hidden": form.get("hidden") == "on",
            "leaderboard_now": form.get("leaderboard_now") == "on", "show_per_case": form.get("show_per_case") == "on",
            "max_submissions": int(str(form.get("max_submissions", "5"))),
            "window_hours": float(str(form.get("window_hours", "24"))), "weight": float(str(form.get("weight", "1"))),
            "entry_policy": str(form.get("entry_policy", "best")), "metrics": _metrics(form),
        }
        with _db(request).write() as session:
            phases.update_phase(session, _phase_or_404(session, name), **changes)
    except ValueError as error:
        raise HTTPException(400, str(error)) from None
    return _redirect("/admin")


@pages.post("/admin/phases/{name}/truth")
async def admin_replace_truth(request: Request, name: str):  # noqa: ANN201
    """``lesionkit challenge rescore --truth``: replace the phase's truth from an archive, then rescore."""
    _need_admin(request)
    form = await _capped_form(request, _TRUTH_CAP)
    try:
        check_csrf(request, form)
        truth = _truth_upload(form)
        try:
            await run_in_threadpool(phases.replace_truth, _db(request), name, truth)
        except ValueError as error:
            code = 404 if type(error) is ValueError and str(error).startswith("no phase") else 400
            raise HTTPException(code, str(error)) from None
    finally:
        await form.close()
    jobs.rescore_phase(_db(request), name)
    return _redirect("/admin")


@pages.post("/admin/phases/{name}/rescore")
async def admin_rescore(request: Request, name: str):  # noqa: ANN201
    _need_admin(request)
    form = await request.form(**_FORM_LIMITS)
    check_csrf(request, form)
    try:
        jobs.rescore_phase(_db(request), name)
    except ValueError as error:
        raise HTTPException(404, str(error)) from None
    return _redirect("/admin")


# --- JSON API ----------------------------------------------------------------------------------------------

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
    max_submissions: int
    window_hours: float
    weight: float
    metrics: list[str]
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


def _api_user(request: Request) -> User:
    user = api_user(request)
    if user is None:
        raise HTTPException(401, "an API token is required (Authorization: Bearer …)",
                            headers={"WWW-Authenticate": "Bearer"})
    return user


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """Stored times are naive UTC; the API says so (RFC 3339 ``date-time`` needs an offset)."""
    return None if value is None else value.replace(tzinfo=dt.UTC)


def _phase_out(phase: Phase, user: User | None) -> PhaseOut:
    return PhaseOut(name=phase.name, title=phase.title, open=phases.is_open(phase), opens_at=_utc(phase.opens_at),
                    closes_at=_utc(phase.closes_at), parent=phase.parent.name if phase.parent else None,
                    hidden=phase.hidden,
                    leaderboard_visible=phases.leaderboard_visible(phase, user),
                    per_case_results=phases.per_case_visible(phase, user), cases=len(phase.cases),
                    max_submissions=phase.max_submissions, window_hours=phase.window_hours, weight=phase.weight,
                    metrics=list(phase.metrics), grid_shape=list(phase.grid_shape))


def _submission_out(submission: Submission, user: User) -> SubmissionOut:
    per_case = phases.per_case_visible(submission.phase, user) and submission.status == "scored"
    return SubmissionOut(
        id=submission.id, phase=submission.phase.name, team=submission.team_name, method=submission.method,
        description=submission.description, code_url=submission.code_url, status=submission.status,
        error=submission.error, created_at=_utc(submission.created_at), scored_at=_utc(submission.scored_at),
        scorer_version=submission.scorer_version, summary=submission.summary or {},
        missing_cases=submission.missing_cases or [], extra_files=submission.extra_files or [],
        warnings=submission.warnings or [], timings=submission.timings or {},
        cases=_case_rows(submission) if per_case else None,
    )


@api.get("/phases", response_model=list[PhaseOut], summary="List the phases")
def api_phases(request: Request) -> list[PhaseOut]:
    user = api_user(request)
    with _db(request).read() as session:
        return [_phase_out(p, user) for p in session.scalars(select(Phase).order_by(Phase.id))]


@api.get("/phases/{name}/leaderboard", summary="A phase's leaderboard (best first)",
         responses={403: {"model": Problem}, 404: {"model": Problem}})
def api_leaderboard(request: Request, name: str) -> list[dict[str, float | int | str | None]]:
    user = api_user(request)
    with _db(request).read() as session:
        phase = _phase_or_404(session, name)
        if not phases.leaderboard_visible(phase, user):
            raise HTTPException(403, f"the leaderboard of phase {phase.name} is published when the phase closes")
        table = leaderboard.phase_leaderboard(session, phase)
    return json.loads(leaderboard.leaderboard_json(table))


@api.get("/me", response_model=UserOut, responses=_ERRORS, summary="The token's user")
def api_me(request: Request) -> UserOut:
    user = _api_user(request)
    return UserOut(name=user.name, team=user.team_name, is_admin=user.is_admin)


def api_submit(
    request: Request,
    name: str,
    archive: Annotated[UploadFile, File(description="a .zip or .tar.gz of *_mask.nii.gz files")],
    method: Annotated[str, Form(min_length=1, max_length=120)],
    description: Annotated[str, Form(min_length=1, max_length=5000)],
    code_url: Annotated[str, Form(min_length=1, max_length=500, description="public code URL (http/https)")],
) -> SubmissionOut:
    user = _api_user(request)
    with _db(request).read() as session:
        _phase_or_404(session, name)
    form = {"method": method, "description": description, "code_url": code_url}
    try:
        submission_id = _submit(request, user, name, archive.file, form)
    except UploadTooLarge as error:
        raise HTTPException(413, str(error)) from None
    except (SubmissionRefused, auth.RateLimited) as error:
        raise HTTPException(429 if isinstance(error, auth.RateLimited) else 409, str(error)) from None
    with _db(request).read() as session:
        return _submission_out(session.get(Submission, submission_id), user)


# FastAPI parses the form before the endpoint runs: the phase's cap must apply to the stream it parses.
api.add_api_route("/phases/{name}/submissions", api_submit, methods=["POST"], response_model=SubmissionOut,
                  status_code=201, summary="Upload a .zip or .tar.gz of masks; it is queued for scoring",
                  responses={**_ERRORS, 400: {"model": Problem}, 409: {"model": Problem}, 413: {"model": Problem},
                             429: {"model": Problem}},
                  route_class_override=limited_body_route(_upload_cap))


@api.get("/submissions/{submission_id}", response_model=SubmissionOut, responses=_ERRORS,
         summary="A submission's status and scores (per case where the phase allows)")
def api_submission(request: Request, submission_id: int) -> SubmissionOut:
    user = _api_user(request)
    with _db(request).read() as session:
        submission = session.get(Submission, submission_id) if abs(submission_id) < 2**62 else None
        if submission is None or not can_view(submission, user):
            raise HTTPException(404, "no such submission")
        return _submission_out(submission, user)
