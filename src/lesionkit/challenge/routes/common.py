"""What every challenge route module shares: the routers, request helpers and the rule that blocking work
(database, password hashing, file copies) never runs on the event loop.

Sync (``def``) routes run in the worker thread pool and may call the database directly; ``async def`` routes
exist only where a form must be read from the stream first, and hand everything else to :func:`blocking`.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse

from lesionkit.challenge import phases
from lesionkit.challenge.tables import Phase
from lesionkit.metrics import METRIC_KEYS
from lesionkit.web.app import blocking, page_user
from lesionkit.web.tables import User

__all__ = ["FORM_LIMITS", "LABELS", "api", "need_admin", "need_user", "pages", "phase_or_404", "redirect", "user_of"]

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["challenge"])
FORM_LIMITS = {"max_files": 1, "max_fields": 30}
#: Column titles of the metric keys in pages.
LABELS = {"dice": "Dice", "hd": "HD (mm)", "hd95": "HD95 (mm)", "assd": "ASSD (mm)", "tpr": "TPR",
          "precision": "Precision", "volume_difference": "Volume diff. (mm³)",
          "lesion_count_difference": "Lesion-count diff.", "lesion_f1": "Lesion F1"}
assert set(LABELS) == set(METRIC_KEYS)


def db_of(request: Request):  # noqa: ANN201
    return request.app.state.db


def need_user(request: Request, session=None) -> User:  # noqa: ANN001
    """The signed-in user, or 401 (blocking: sync routes, or through :func:`user_of`)."""
    user = page_user(request, session)
    if user is None:
        raise HTTPException(401, "sign in first")
    return user


def need_admin(request: Request, session=None) -> User:  # noqa: ANN001
    user = need_user(request, session)
    if not user.is_admin:
        raise HTTPException(403, "organisers only")
    return user


async def user_of(request: Request, admin: bool = False) -> User:
    """In an ``async`` route: the signed-in user (or organiser), looked up in a worker thread."""
    return await blocking(request, need_admin if admin else need_user, request)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def phase_or_404(session, name: str) -> Phase:  # noqa: ANN001
    phase = phases.get_phase(session, name)
    if phase is None:
        raise HTTPException(404, "no such phase")
    return phase
