"""Accounts and sessions: argon2 password hashes (pwdlib), opaque database-backed sessions, API tokens,
CSRF tokens and rate limits. Every function takes an open SQLAlchemy session; none knows about HTTP.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from lesionkit.web.tables import ApiToken, RateEvent, Team, User, WebSession, utcnow

__all__ = [
    "AuthError",
    "RateLimited",
    "authenticate",
    "check_rate",
    "create_api_token",
    "create_user",
    "csrf_matches",
    "end_session",
    "hash_password",
    "join_team",
    "new_csrf_token",
    "record_rate_event",
    "start_session",
    "user_for_session",
    "user_for_token",
    "verify_password",
]

SESSION_LIFETIME = dt.timedelta(days=14)
MIN_PASSWORD_LENGTH = 10
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,39}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = None


class AuthError(ValueError):
    """A refused sign-up, login or token; the message is safe to show to the user."""


class RateLimited(AuthError):
    """Too many attempts under one key in the window."""


def _password_hash():
    global _hasher
    if _hasher is None:
        from pwdlib import PasswordHash

        _hasher = PasswordHash.recommended()  # argon2id with the library's current parameters
    return _hasher


def hash_password(password: str) -> str:
    return _password_hash().hash(password)


def verify_password(password: str, hashed: str) -> bool:
    return _password_hash().verify(password, hashed)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(session: Session, name: str, email: str, password: str, is_admin: bool = False) -> User:
    """Add a user; raises :class:`AuthError` for a bad or taken name/e-mail or a short password."""
    name, email = name.strip(), email.strip().lower()
    if not _NAME.match(name):
        raise AuthError("user name: 2–40 letters, digits, '.', '_' or '-'")
    if not _EMAIL.match(email) or len(email) > 254:
        raise AuthError("e-mail address is not valid")
    if len(password) < MIN_PASSWORD_LENGTH or len(password) > 1024:
        raise AuthError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    taken = session.scalar(select(func.count()).select_from(User).where((User.name == name) | (User.email == email)))
    if taken:
        raise AuthError("that user name or e-mail address is already registered")
    user = User(name=name, email=email, password_hash=hash_password(password), is_admin=is_admin)
    session.add(user)
    session.flush()
    return user


def join_team(session: Session, user: User, team_name: str) -> Team:
    """Put ``user`` in the team called ``team_name``, creating it if needed."""
    team_name = team_name.strip()
    if not _NAME.match(team_name):
        raise AuthError("team name: 2–40 letters, digits, '.', '_' or '-'")
    team = session.scalar(select(Team).where(Team.name == team_name))
    if team is None:
        team = Team(name=team_name)
        session.add(team)
        session.flush()
    user.team_id = team.id
    return team


def record_rate_event(session: Session, key: str) -> None:
    session.add(RateEvent(key=key))


def check_rate(session: Session, key: str, limit: int, window: dt.timedelta) -> None:
    """Raise :class:`RateLimited` when ``key`` has ``limit`` events in the last ``window``."""
    since = utcnow() - window
    session.execute(delete(RateEvent).where(RateEvent.at < utcnow() - dt.timedelta(days=1)))
    count = session.scalar(
        select(func.count()).select_from(RateEvent).where(RateEvent.key == key, RateEvent.at >= since)
    )
    if count >= limit:
        raise RateLimited("too many attempts; wait a few minutes and try again")


def authenticate(session: Session, name_or_email: str, password: str, client: str,
                 limit: int = 5, window: dt.timedelta = dt.timedelta(minutes=15)) -> User:
    """The user with these credentials; failed attempts per account and per client are rate-limited."""
    login = name_or_email.strip()
    user = session.scalar(select(User).where((User.name == login) | (User.email == login.lower())))
    # Counted per account (whichever of its names is typed) and per client address.
    keys = (f"login:{user.id if user is not None else login.lower()}", f"login-client:{client}")
    for key in keys:
        check_rate(session, key, limit if key.startswith("login:") else 4 * limit, window)
    # Verify against a dummy hash for unknown users, so timing does not tell which names exist.
    hashed = user.password_hash if user is not None else _dummy_hash()
    if not verify_password(password, hashed) or user is None:
        for key in keys:
            record_rate_event(session, key)
        raise AuthError("wrong user name or password")
    return user


_DUMMY: str | None = None


def _dummy_hash() -> str:
    global _DUMMY
    if _DUMMY is None:
        _DUMMY = hash_password(secrets.token_urlsafe(16))
    return _DUMMY


def start_session(session: Session, user: User) -> str:
    """Create a browser session; returns the opaque token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=_digest(token), user_id=user.id, expires_at=utcnow() + SESSION_LIFETIME))
    return token


def user_for_session(session: Session, token: str | None) -> User | None:
    if not token:
        return None
    row = session.get(WebSession, _digest(token))
    if row is None or row.expires_at < utcnow():
        return None
    return row.user


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(WebSession).where(WebSession.token_hash == _digest(token)))


def create_api_token(session: Session, user: User, label: str = "") -> str:
    """A new API token for ``user``; the plain token is returned once and never stored."""
    token = "lk_" + secrets.token_urlsafe(32)
    session.add(ApiToken(token_hash=_digest(token), user_id=user.id, label=label[:80]))
    return token


def user_for_token(session: Session, token: str | None) -> User | None:
    if not token:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    return None if row is None else row.user


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(cookie_value: str | None, form_value: str | None) -> bool:
    """Double-submit check: the form's hidden token must equal the (SameSite, HttpOnly) cookie's."""
    return bool(cookie_value) and bool(form_value) and hmac.compare_digest(str(cookie_value), str(form_value))
