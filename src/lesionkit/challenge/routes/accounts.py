"""Accounts and teams: sign-up, sign-in (throttled per account and client), password change, API tokens, and
teams joined only by invitation or approved request (:mod:`lesionkit.challenge.teams`).
Templates: ``templates/accounts/``."""

from __future__ import annotations

import logging

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse

from lesionkit.challenge import teams
from lesionkit.challenge.routes.common import FORM_LIMITS, db_of, need_user, pages, redirect, user_of
from lesionkit.web import auth
from lesionkit.web.app import (
    SESSION_COOKIE,
    blocking,
    check_csrf,
    client_address,
    hashing,
    render,
    safe_next,
    set_session_cookie,
)
from lesionkit.web.tables import Team, User

__all__ = ["account_context"]

log = logging.getLogger("lesionkit.challenge")
SIGNUPS_PER_HOUR = 20


async def _form(request: Request):  # noqa: ANN202
    form = await request.form(**FORM_LIMITS)
    check_csrf(request, form)
    return form


@pages.get("/signup", response_class=HTMLResponse)
def signup_form(request: Request):  # noqa: ANN201
    return render(request, "accounts/signup.html")


def _sign_up(request: Request, form) -> str:  # noqa: ANN001
    import datetime as dt

    with db_of(request).write() as session:
        key = f"signup:{client_address(request)}"
        auth.check_rate(session, key, SIGNUPS_PER_HOUR, dt.timedelta(hours=1))
        auth.record_rate_event(session, key)
        user = auth.create_user(session, str(form.get("name", "")), str(form.get("email", "")),
                                str(form.get("password", "")))
        if str(form.get("team", "")).strip():  # a new team, with this user as its admin; joining needs consent
            teams.create_team(session, user, str(form.get("team")))
        return auth.start_session(session, user)


@pages.post("/signup")
async def signup(request: Request):  # noqa: ANN201
    form = await _form(request)
    try:
        token = await hashing(request, _sign_up, request, form)
    except auth.AuthError as error:
        request.state.user = None
        code = 429 if isinstance(error, auth.RateLimited) else 400
        return render(request, "accounts/signup.html", {"flash": str(error), "flash_kind": "error", "form": form},
                      status_code=code)
    log.info("new participant signed up")
    response = redirect("/account" if str(form.get("team", "")).strip() else "/")
    set_session_cookie(request, response, token)
    return response


@pages.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/"):  # noqa: A002, ANN201
    return render(request, "accounts/login.html", {"next": safe_next(next)})


def _log_in(request: Request, login: str, password: str) -> str:
    # committed even when refused: the failed attempt must count
    with db_of(request).write() as session:
        try:
            user = auth.authenticate(session, login, password, client_address(request))
        except auth.AuthError as error:
            refused = error
        else:
            return auth.start_session(session, user)
    raise refused


@pages.post("/login")
async def login(request: Request):  # noqa: ANN201
    form = await _form(request)
    try:
        token = await hashing(request, _log_in, request, str(form.get("login", "")), str(form.get("password", "")))
    except auth.AuthError as error:
        request.state.user = None
        code = 429 if isinstance(error, auth.RateLimited) else 400
        return render(request, "accounts/login.html", {"flash": str(error), "flash_kind": "error",
                                                       "next": safe_next(str(form.get("next", "")))},
                      status_code=code)
    response = redirect(safe_next(str(form.get("next", ""))))
    set_session_cookie(request, response, token)
    return response


def _log_out(request: Request) -> None:
    with db_of(request).write() as session:
        auth.end_session(session, request.cookies.get(SESSION_COOKIE))


@pages.post("/logout")
async def logout(request: Request):  # noqa: ANN201
    await _form(request)
    await blocking(request, _log_out, request)
    request.state.user = None
    response = redirect("/")
    set_session_cookie(request, response, None)
    return response


def account_context(session, user: User) -> dict:  # noqa: ANN001
    """What the account page shows: team, its members and history, pending invitations, API tokens."""
    team = session.get(Team, user.team_id) if user.team_id is not None else None
    return {
        "team": team,
        "team_admin": team is not None and teams.is_team_admin(session, user, team),
        "history": teams.memberships(session, team) if team is not None else [],
        "invitations": teams.invitations_for(session, user),
        "tokens": auth.list_api_tokens(session, user),
    }


def _account_page(request: Request, extra: dict | None = None, status_code: int = 200):  # noqa: ANN202
    with db_of(request).read() as session:
        user = need_user(request, session)
        user = session.get(User, user.id)
        request.state.user = user
        context = {"user": user, "new_token": None, **account_context(session, user), **(extra or {})}
        return render(request, "accounts/account.html", context, status_code=status_code)


@pages.get("/account", response_class=HTMLResponse)
def account(request: Request):  # noqa: ANN201
    return _account_page(request)


def _team_action(request: Request, action, form) -> None:  # noqa: ANN001
    with db_of(request).write() as session:
        user = session.get(User, need_user(request, session).id)
        action(session, user, form)


_TEAM_ACTIONS = {
    "create": lambda s, u, f: teams.create_team(s, u, str(f.get("team", ""))),
    "request": lambda s, u, f: teams.request_to_join(s, u, str(f.get("team", ""))),
    "invite": lambda s, u, f: teams.invite(s, u, str(f.get("user", ""))),
    "leave": lambda s, u, f: teams.leave_team(s, u),
    "accept": lambda s, u, f: teams.accept(s, u, _int(f.get("invitation"))),
    "decline": lambda s, u, f: teams.decline(s, u, _int(f.get("invitation"))),
}


def _int(value) -> int:  # noqa: ANN001
    try:
        return int(str(value))
    except ValueError:
        raise teams.TeamError("no such pending invitation") from None


@pages.post("/account/team/{action}")
async def account_team(request: Request, action: str):  # noqa: ANN201
    """Team changes, each with the other side's consent: create (you become its admin), request to join,
    invite (team admins), accept or decline, leave."""
    if action not in _TEAM_ACTIONS:
        raise HTTPException(404, "no such team action")
    await user_of(request)
    form = await _form(request)
    try:
        await blocking(request, _team_action, request, _TEAM_ACTIONS[action], form)
    except auth.AuthError as error:
        return await blocking(request, _account_page, request, {"flash": str(error), "flash_kind": "error"}, 400)
    return redirect("/account")


@pages.post("/account/team")
async def account_team_by_name(request: Request):  # noqa: ANN201
    """The old "type a team name" form: now a request to join that the team's admin must approve (or a new team
    when the name is free)."""
    await user_of(request)
    form = await _form(request)

    def join_or_create(session, user, form) -> None:  # noqa: ANN001
        name = str(form.get("team", ""))
        if teams.team_named(session, name) is None:
            teams.create_team(session, user, name)
        else:
            teams.request_to_join(session, user, name)

    try:
        await blocking(request, _team_action, request, join_or_create, form)
    except auth.AuthError as error:
        return await blocking(request, _account_page, request, {"flash": str(error), "flash_kind": "error"}, 400)
    return redirect("/account")


def _new_token(request: Request, label: str) -> str:
    with db_of(request).write() as session:
        return auth.create_api_token(session, session.get(User, need_user(request, session).id), label)


@pages.post("/account/token", response_class=HTMLResponse)
async def account_token(request: Request):  # noqa: ANN201
    await user_of(request)
    form = await _form(request)
    token = await blocking(request, _new_token, request, str(form.get("label", "")))
    return await blocking(request, _account_page, request, {"new_token": token})


def _revoke(request: Request, token_id: int) -> None:
    with db_of(request).write() as session:
        auth.revoke_api_token(session, need_user(request, session), token_id)


@pages.post("/account/tokens/{token_id}/revoke")
async def account_revoke_token(request: Request, token_id: int):  # noqa: ANN201
    await user_of(request)
    await _form(request)
    try:
        await blocking(request, _revoke, request, token_id)
    except auth.AuthError as error:
        raise HTTPException(404, str(error)) from None
    return redirect("/account")


def _change_password(request: Request, old: str, new: str) -> None:
    with db_of(request).write() as session:
        user = session.get(User, need_user(request, session).id)
        auth.change_password(session, user, old, new, keep_session=request.cookies.get(SESSION_COOKIE))


@pages.post("/account/password")
async def account_password(request: Request):  # noqa: ANN201
    """Change the password (the current one is checked); every other browser session ends."""
    await user_of(request)
    form = await _form(request)
    try:
        await hashing(request, _change_password, request, str(form.get("old_password", "")),
                      str(form.get("new_password", "")))
    except auth.AuthError as error:
        return await blocking(request, _account_page, request, {"flash": str(error), "flash_kind": "error"}, 400)
    return await blocking(request, _account_page, request, {"flash": "password changed; other sessions ended"})


