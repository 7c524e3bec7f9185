"""Phases and organisers: the home page, a phase's page (expected case ids, test images, the submission form),
and the admin pages (phase settings, truth replacement, rescoring, teams: freeze, remove, merge).
Templates: ``templates/phases/``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi import HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from sqlalchemy import select

from lesionkit.challenge import jobs, phases, teams
from lesionkit.challenge.routes.common import FORM_LIMITS, db_of, need_admin, pages, phase_or_404, redirect, user_of
from lesionkit.challenge.scoring import SCORER_VERSION
from lesionkit.challenge.submissions import owned_by, quota_left, submissions_left
from lesionkit.challenge.tables import Job, Phase, Submission
from lesionkit.metrics import ATLAS_RANKING_METRICS, METRIC_KEYS
from lesionkit.web.app import blocking, check_csrf, page_user, render
from lesionkit.web.tables import Team
from lesionkit.web.uploads import limit_body

__all__ = ["TRUTH_UPLOAD_BYTES"]

#: Cap on an organiser's truth archive upload (unpacked: :data:`lesionkit.challenge.truth.TRUTH_ARCHIVE_LIMITS`).
TRUTH_UPLOAD_BYTES = 2**30
#: Room for a form's other fields and multipart framing on top of an upload cap.
FORM_SLACK_BYTES = 2**20
_TRUTH_CAP = (TRUTH_UPLOAD_BYTES + FORM_SLACK_BYTES, f"truth archive is larger than the limit of {TRUTH_UPLOAD_BYTES} "
              "bytes (give larger truth sets with `lesionkit challenge init --truth`)")


@pages.get("/", response_class=HTMLResponse)
def home(request: Request):  # noqa: ANN201
    with db_of(request).read() as session:
        user = page_user(request, session)
        challenge = phases.get_challenge(session)
        rows = [{"phase": p, "open": phases.is_open(p), "cases": len(p.cases),
                 "board": phases.leaderboard_visible(p, user)}
                for p in session.scalars(select(Phase).order_by(Phase.id))]
        return render(request, "phases/home.html", {"challenge": challenge, "phases": rows})


@pages.get("/phases/{name}", response_class=HTMLResponse)
def phase_page(request: Request, name: str):  # noqa: ANN201
    with db_of(request).read() as session:
        user = page_user(request, session)
        phase = phase_or_404(session, name)
        mine, left, quota = [], None, None
        if user is not None:
            mine = list(session.scalars(select(Submission).where(Submission.phase_id == phase.id,
                                                                 owned_by(session, user))
                                        .order_by(Submission.id.desc())))
            left, quota = submissions_left(session, phase, user), quota_left(session, user)
        return render(request, "phases/phase.html", {
            "phase": phase, "open": phases.is_open(phase), "mine": mine, "left": left, "quota": quota,
            "cases": len(phase.cases), "case_ids": [c.case_id for c in phase.cases],
            "images": [c for c in phase.cases if c.image_name], "shown": phases.shown_metrics(phase, user)})


@pages.get("/phases/{name}/images/{image}")
def phase_image(request: Request, name: str, image: str):  # noqa: ANN201
    with db_of(request).read() as session:
        phase = phase_or_404(session, name)
        names = {c.image_name for c in phase.cases if c.image_name}
        if image not in names:
            raise HTTPException(404, "no such image")
        folder = phases.get_challenge(session).storage
    return FileResponse(Path(folder) / "images" / phase.name / image, media_type="application/gzip")


# --- organisers ---------------------------------------------------------------------------------------------

@pages.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request):  # noqa: ANN201
    with db_of(request).read() as session:
        need_admin(request, session)
        all_phases = list(session.scalars(select(Phase).order_by(Phase.id)))
        recent = list(session.scalars(select(Submission).order_by(Submission.id.desc()).limit(50)))
        queue = list(session.scalars(select(Job).order_by(Job.id.desc()).limit(50)))
        all_teams = list(session.scalars(select(Team).order_by(Team.name)))
        return render(request, "phases/admin.html", {"phases": all_phases, "recent": recent, "jobs": queue,
                                                     "teams": all_teams, "scorer": SCORER_VERSION,
                                                     "metric_keys": METRIC_KEYS})


def _when(text: str) -> dt.datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise HTTPException(400, f"not a date and time: {text[:40]!r} (use YYYY-MM-DDTHH:MM, UTC)") from None
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value  # stored as naive UTC


def _names(form, key: str) -> list[str]:  # noqa: ANN001
    return [m.strip() for m in str(form.get(key, "")).split(",") if m.strip()]


def _choice(form, key: str, yes: str, no: str) -> bool | None:  # noqa: ANN001
    """A three-way select: ``yes`` → True, ``no`` → False, anything else → None (the phase type's default)."""
    value = str(form.get(key, ""))
    return True if value == yes else False if value == no else None


def _optional_int(form, key: str) -> int | None:  # noqa: ANN001
    text = str(form.get(key, "")).strip()
    return int(text) if text else None


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
        max_total=_optional_int(form, "max_total"), max_failed=_optional_int(form, "max_failed") or 10,
        shown_metrics=_names(form, "shown_metrics") or None, significant_digits=_optional_int(form, "digits"),
        metrics=_names(form, "metrics") or list(ATLAS_RANKING_METRICS),
        entry_policy=str(form.get("entry_policy", "best")),
    )


def _truth_upload(form):  # noqa: ANN001, ANN202
    upload = form.get("truth")
    if upload is None or isinstance(upload, str):
        raise HTTPException(400, "choose a .zip or .tar.gz archive of the true masks")
    return upload.file


def _new_phase_page(request: Request, values: dict, flash: str | None = None, status_code: int = 200):  # noqa: ANN202
    with db_of(request).read() as session:
        names = list(session.scalars(select(Phase.name).order_by(Phase.id)))
    return render(request, "phases/admin_phase.html", {
        "phase_names": names, "values": values, "metric_keys": METRIC_KEYS,
        "default_metrics": ",".join(ATLAS_RANKING_METRICS), "flash": flash, "flash_kind": "error" if flash else None},
        status_code=status_code)


@pages.get("/admin/phases/new", response_class=HTMLResponse)
def admin_new_phase(request: Request):  # noqa: ANN201
    need_admin(request)
    return _new_phase_page(request, {})


@pages.post("/admin/phases")
async def admin_create_phase(request: Request):  # noqa: ANN201
    """The web form of ``lesionkit challenge init``: the same :func:`~lesionkit.challenge.phases.add_phase` call,
    with the truth archive streamed from the upload (unpacked with a submission's caps and header checks)."""
    await user_of(request, admin=True)
    form = await limit_body(request, *_TRUTH_CAP).form(**FORM_LIMITS)
    try:
        check_csrf(request, form)
        truth = _truth_upload(form)
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
        try:
            settings = _new_phase_settings(form)
            await blocking(request, phases.add_phase, db_of(request), str(form.get("name", "")).strip(), truth,
                           settings)
        except ValueError as error:  # and InvalidInputError: the organiser's own archive, paths inside it only
            return await blocking(request, _new_phase_page, request, values, str(error), 400)
    finally:
        await form.close()
    return redirect("/admin")


def _update(request: Request, name: str, form) -> None:  # noqa: ANN001
    changes = {
        "title": str(form.get("title", "")), "opens_at": _when(str(form.get("opens_at", ""))),
        "closes_at": _when(str(form.get("closes_at", ""))), "parent": str(form.get("parent", "")) or None,
        "hidden": form.get("hidden") == "on",
        "leaderboard_now": form.get("leaderboard_now") == "on", "show_per_case": form.get("show_per_case") == "on",
        "max_submissions": int(str(form.get("max_submissions", "5"))),
        "window_hours": float(str(form.get("window_hours", "24"))), "weight": float(str(form.get("weight", "1"))),
        "entry_policy": str(form.get("entry_policy", "best")), "metrics": _names(form, "metrics"),
    }
    for key, parse in (("max_total", _optional_int), ("max_failed", _optional_int),
                       ("significant_digits", _optional_int)):
        if key in form:
            changes[key] = parse(form, key) or 0 if key != "max_failed" else parse(form, key) or 10
    if "shown_metrics" in form:
        changes["shown_metrics"] = _names(form, "shown_metrics") or None
    with db_of(request).write() as session:
        phases.update_phase(session, phase_or_404(session, name), **changes)


@pages.post("/admin/phases/{name}")
async def admin_update_phase(request: Request, name: str):  # noqa: ANN201
    await user_of(request, admin=True)
    form = await request.form(**FORM_LIMITS)
    check_csrf(request, form)
    try:
        await blocking(request, _update, request, name, form)
    except ValueError as error:
        raise HTTPException(400, str(error)) from None
    return redirect("/admin")


@pages.post("/admin/phases/{name}/truth")
async def admin_replace_truth(request: Request, name: str):  # noqa: ANN201
    """``lesionkit challenge rescore --truth``: replace the phase's truth from an archive, then rescore."""
    await user_of(request, admin=True)
    form = await limit_body(request, *_TRUTH_CAP).form(**FORM_LIMITS)
    try:
        check_csrf(request, form)
        truth = _truth_upload(form)
        try:
            await blocking(request, phases.replace_truth_and_rescore, db_of(request), name, truth)
        except ValueError as error:
            code = 404 if type(error) is ValueError and str(error).startswith("no phase") else 400
            raise HTTPException(code, str(error)) from None
    finally:
        await form.close()
    return redirect("/admin")


@pages.post("/admin/phases/{name}/rescore")
async def admin_rescore(request: Request, name: str):  # noqa: ANN201
    await user_of(request, admin=True)
    form = await request.form(**FORM_LIMITS)
    check_csrf(request, form)
    try:
        await blocking(request, jobs.rescore_phase, db_of(request), name)
    except ValueError as error:
        raise HTTPException(404, str(error)) from None
    return redirect("/admin")


def _team_admin(request: Request, team_id: int, action: str, form) -> None:  # noqa: ANN001
    with db_of(request).write() as session:
        team = session.get(Team, team_id)
        if team is None:
            raise HTTPException(404, "no such team")
        if action == "merge":
            target = teams.team_named(session, str(form.get("into", "")))
            if target is None:
                raise teams.TeamError("no team to merge into by that name")
            teams.merge_teams(session, team, target)
        elif action == "remove":
            teams.remove_team(session, team)
        else:
            teams.freeze_team(session, team, action == "freeze")


@pages.post("/admin/teams/{team_id}/{action}")
async def admin_team(request: Request, team_id: int, action: str):  # noqa: ANN201
    """Organisers: freeze, unfreeze, remove a team, or merge it into another (``into``)."""
    if action not in ("freeze", "unfreeze", "remove", "merge"):
        raise HTTPException(404, "no such team action")
    await user_of(request, admin=True)
    form = await request.form(**FORM_LIMITS)
    check_csrf(request, form)
    try:
        await blocking(request, _team_admin, request, team_id, action, form)
    except teams.TeamError as error:
        raise HTTPException(400, str(error)) from None
    return redirect("/admin")
