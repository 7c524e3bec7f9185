"""Submissions: the upload form's route and a submission's page. Every rule (limits, quotas, the upload rate)
is in :mod:`lesionkit.challenge.submissions`; what a participant sees of the scores goes through
:mod:`lesionkit.challenge.disclosure`. Templates: ``templates/submissions/``."""

from __future__ import annotations

import logging

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse

from lesionkit.challenge import charts, disclosure
from lesionkit.challenge.routes.common import FORM_LIMITS, db_of, need_user, pages, phase_or_404, redirect, user_of
from lesionkit.challenge.submissions import SubmissionRefused, UploadTooLarge, can_view, submit, upload_cap
from lesionkit.challenge.tables import Submission
from lesionkit.web import auth
from lesionkit.web.app import blocking, check_csrf, render
from lesionkit.web.uploads import limit_body

__all__ = ["refusal", "submit_upload"]

log = logging.getLogger("lesionkit.challenge")
#: Room for a form's other fields and multipart framing on top of an upload cap.
FORM_SLACK_BYTES = 2**20


def body_cap(request: Request) -> tuple[int, str]:
    """The body cap of an upload to the phase in the path, for the signed-in user (what the phase and their
    storage quota allow); an unknown phase: the form's slack (the route answers 404)."""
    with db_of(request).read() as session:
        phase = phase_or_404(session, str(request.path_params.get("name", "")))
        user = getattr(request.state, "user", None) or getattr(request.state, "api_user", None)
        limit, message = upload_cap(session, phase, user) if user is not None else (0, "sign in first")
    return limit + FORM_SLACK_BYTES, message


def refusal(error: Exception) -> HTTPException:
    """The HTTP answer to a refused submission: 413 too large, 429 too many attempts, 409 a rule, 404 no phase."""
    if isinstance(error, UploadTooLarge):
        return HTTPException(413, str(error))
    if isinstance(error, auth.RateLimited):
        return HTTPException(429, str(error))
    if isinstance(error, LookupError):
        return HTTPException(404, "no such phase")
    return HTTPException(409, str(error))


def submit_upload(request: Request, user_id: int, phase_name: str, stream, fields) -> int:  # noqa: ANN001
    """Blocking: :func:`lesionkit.challenge.submissions.submit` with the form's fields; HTTP errors for refusals."""
    try:
        submission_id = submit(db_of(request), phase_name, user_id, stream, str(fields.get("method", "")),
                               str(fields.get("description", "")), str(fields.get("code_url", "")))
    except (SubmissionRefused, auth.RateLimited, LookupError) as error:
        raise refusal(error) from None
    log.info("submission %d queued for phase %s", submission_id, phase_name)
    return submission_id


@pages.post("/phases/{name}/submit")
async def submit_page(request: Request, name: str):  # noqa: ANN201
    user = await user_of(request)  # before a byte of the body is read: strangers get 401 at once
    cap = await blocking(request, body_cap, request)
    form = await limit_body(request, *cap).form(**FORM_LIMITS)
    try:
        check_csrf(request, form)
        upload = form.get("archive")
        if upload is None or isinstance(upload, str):
            raise HTTPException(400, "choose a .zip or .tar.gz archive of masks to upload")
        # copied into storage in a worker thread: the event loop keeps serving other requests
        submission_id = await blocking(request, submit_upload, request, user.id, name, upload.file, form)
    finally:
        await form.close()
    return redirect(f"/submissions/{submission_id}")


@pages.get("/submissions/{submission_id}", response_class=HTMLResponse)
def submission_page(request: Request, submission_id: int):  # noqa: ANN201
    with db_of(request).read() as session:
        user = need_user(request, session)
        submission = session.get(Submission, submission_id) if abs(submission_id) < 2**62 else None
        if submission is None or not can_view(submission, user):
            raise HTTPException(404, "no such submission")
        phase = submission.phase
        shown = disclosure.shown(submission, user)
        context = {"s": submission, "phase": phase, **shown}
        rows = shown["rows"]
        if rows:
            context["scatter"] = charts.scatter_svg(
                [r["pred_volume"] for r in rows], [r.get("dice") for r in rows],
                "Dice against your predicted lesion volume", "your predicted lesion volume (mm³, log)", "Dice")
            context["boxes"] = charts.box_svg({k: [r[k] for r in rows] for k in ("dice", "lesion_f1", "precision",
                                                                                  "tpr") if k in shown["keys"]},
                                              "Distributions")
        return render(request, "submissions/submission.html", context)
