"""Leaderboards: a phase's (HTML, CSV, JSON) and the combined one, all cached
(:mod:`lesionkit.challenge.leaderboard`) and shown through the phase's disclosure rules. Templates:
``templates/leaderboards/``."""

from __future__ import annotations

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from lesionkit.challenge import leaderboard, phases
from lesionkit.challenge.routes.common import db_of, pages, phase_or_404
from lesionkit.web.app import page_user, render

__all__ = ["visible_board"]


def visible_board(session, name: str, user):  # noqa: ANN001, ANN201
    """The phase and its leaderboard as ``user`` may see it (403 before a hidden phase's board is published)."""
    phase = phase_or_404(session, name)
    if not phases.leaderboard_visible(phase, user):
        raise HTTPException(403, f"the leaderboard of phase {phase.name} is published when the phase closes")
    return phase, leaderboard.public_table(leaderboard.phase_leaderboard(session, phase), phase, user)


@pages.get("/phases/{name}/leaderboard", response_class=HTMLResponse)
def leaderboard_page(request: Request, name: str):  # noqa: ANN201
    with db_of(request).read() as session:
        user = page_user(request, session)
        phase, table = visible_board(session, name, user)
        shown = [m for m in phase.metrics if m in phases.shown_metrics(phase, user)]
        return render(request, "leaderboards/leaderboard.html", {
            "phase": phase, "rows": table.to_dict(orient="records"), "metrics": shown})


@pages.get("/phases/{name}/leaderboard.csv")
def leaderboard_csv(request: Request, name: str):  # noqa: ANN201
    with db_of(request).read() as session:
        phase, table = visible_board(session, name, page_user(request, session))
    return PlainTextResponse(leaderboard.leaderboard_csv(table), media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="{phase.name}-leaderboard.csv"'})


@pages.get("/phases/{name}/leaderboard.json")
def leaderboard_json(request: Request, name: str):  # noqa: ANN201
    with db_of(request).read() as session:
        _, table = visible_board(session, name, page_user(request, session))
    return Response(leaderboard.leaderboard_json(table), media_type="application/json")


@pages.get("/leaderboard", response_class=HTMLResponse)
def combined_page(request: Request):  # noqa: ANN201
    with db_of(request).read() as session:
        table, shown = leaderboard.combined_leaderboard(session, page_user(request, session))
        return render(request, "leaderboards/combined.html", {"rows": table.to_dict(orient="records"),
                                                              "phases": shown})
