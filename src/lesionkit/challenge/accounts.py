"""Account operations for organisers and scripts (``lesionkit challenge init --admin``, ``token``,
``password``): each a short write transaction over :mod:`lesionkit.web.auth`, so the CLI holds no database code."""

from __future__ import annotations

import secrets

from lesionkit.web import auth
from lesionkit.web.database import Database

__all__ = ["create_organiser", "issue_token", "reset_password"]


def create_organiser(db: Database, name: str, email: str) -> str:
    """Create organiser ``name``; returns the generated password (shown once, stored only as its hash)."""
    password = secrets.token_urlsafe(12)
    with db.write() as session:
        auth.create_user(session, name, email, password, is_admin=True)
    return password


def _user(session, login: str):  # noqa: ANN001, ANN202
    user = auth.user_named(session, login)
    if user is None:
        raise LookupError(f"no user {login!r}")
    return user


def issue_token(db: Database, login: str, label: str = "cli") -> str:
    """A new API token for the user named (or with the e-mail address) ``login``; LookupError if none."""
    with db.write() as session:
        return auth.create_api_token(session, _user(session, login), label)


def reset_password(db: Database, login: str) -> str:
    """An organiser's reset for a user who lost theirs: a new generated password (returned once), every session
    of the user ended."""
    password = secrets.token_urlsafe(12)
    with db.write() as session:
        auth.set_password(session, _user(session, login), password)
    return password
