"""Accounts and sessions: argon2 password hashes (pwdlib), opaque database-backed sessions, API tokens,
CSRF tokens and rate limits. Every function takes an open SQLAlchemy session; none knows about HTTP.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import re
import secrets

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from lesionkit.web.tables import ApiToken, RateEvent, Team, User, WebSession, utcnow

__all__ = [
    "AuthError",
    "RateLimited",
    "authenticate",
    "change_password",
    "check_rate",
    "create_api_token",
    "create_user",
    "csrf_matches",
    "end_session",
    "hash_password",
    "list_api_tokens",
    "login_wait",
    "new_csrf_token",
    "record_rate_event",
    "revoke_api_token",
    "set_password",
    "start_session",
    "user_for_session",
    "user_for_token",
    "user_named",
    "valid_name",
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
    _check_password(password)
    taken = session.scalar(select(func.count()).select_from(User).where((User.name == name) | (User.email == email)))
    # a user without a team competes under their own name: it must not be a team's
    taken = taken or session.scalar(select(func.count()).select_from(Team).where(Team.name == name))
    if taken:
        raise AuthError("that user name or e-mail address is already registered")
    user = User(name=name, email=email, password_hash=hash_password(password), is_admin=is_admin)
    session.add(user)
    session.flush()
    return user


def valid_name(name: str) -> bool:
    """2–40 letters, digits, '.', '_' or '-' (user and team names)."""
    return bool(_NAME.match(name))


def user_named(session: Session, name_or_email: str) -> User | None:
    """The user with this name or e-mail address."""
    login = name_or_email.strip()
    return session.scalar(select(User).where((User.name == login) | (User.email == login.lower())))


def change_password(session: Session, user: User, old: str, new: str, keep_session: str | None = None) -> None:
    """Set a new password after checking the old one; every other browser session of the user ends."""
    if not verify_password(old, user.password_hash):
        raise AuthError("the current password is wrong")
    _check_password(new)
    user.password_hash = hash_password(new)
    keep = _digest(keep_session) if keep_session else ""
    session.execute(delete(WebSession).where(WebSession.user_id == user.id, WebSession.token_hash != keep))


def set_password(session: Session, user: User, new: str) -> None:
    """An organiser's reset (``lesionkit challenge password``): new password, every session ended."""
    _check_password(new)
    user.password_hash = hash_password(new)
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH or len(password) > 1024:
        raise AuthError(f"password: at least {MIN_PASSWORD_LENGTH} characters")


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


#: Failed logins per (account, client) before back-off starts, and the back-off's first step and ceiling.
FREE_ATTEMPTS = 5
BACKOFF_START = dt.timedelta(seconds=2)
BACKOFF_MAX = dt.timedelta(minutes=15)
#: Failed logins per client over all accounts in :data:`CLIENT_WINDOW` (password spraying).
CLIENT_LIMIT = 100
CLIENT_WINDOW = dt.timedelta(minutes=15)


def login_wait(session: Session, key: str, now: dt.datetime | None = None) -> dt.timedelta:
    """How long ``key`` (an account-and-client pair) must wait: nothing for the first :data:`FREE_ATTEMPTS`
    failures of the last day, then doubling from :data:`BACKOFF_START` after the latest failure, at most
    :data:`BACKOFF_MAX`."""
    now = now or utcnow()
    rows = session.execute(select(func.count(), func.max(RateEvent.at)).where(
        RateEvent.key == key, RateEvent.at >= now - dt.timedelta(days=1))).one()
    failures, last = int(rows[0] or 0), rows[1]
    if failures < FREE_ATTEMPTS or last is None:
        return dt.timedelta(0)
    step = min(BACKOFF_MAX, BACKOFF_START * 2 ** min(failures - FREE_ATTEMPTS, 20))
    return max(dt.timedelta(0), last + step - now)


def authenticate(session: Session, name_or_email: str, password: str, client: str) -> User:
    """The user with these credentials.

    Failures are throttled per (account, client) with back-off (:func:`login_wait`), never per account alone:
    an attacker guessing from one address slows only their own attempts, and the owner signing in from
    another address is not locked out. A client failing on many accounts is limited too (:data:`CLIENT_LIMIT`).
    The client is the address :func:`lesionkit.web.app.client_address` trusts (proxies only when configured).
    """
    user = user_named(session, name_or_email)
    account = str(user.id) if user is not None else name_or_email.strip().lower()[:80]
    pair, spray = f"login:{account}|{client}", f"login-client:{client}"
    wait = login_wait(session, pair)
    if wait > dt.timedelta(0):
        raise RateLimited(f"too many failed sign-ins from here; wait {math.ceil(wait.total_seconds())} s")
    check_rate(session, spray, CLIENT_LIMIT, CLIENT_WINDOW)
    # Verify against a dummy hash for unknown users, so timing does not tell which names exist.
    hashed = user.password_hash if user is not None else _dummy_hash()
    if not verify_password(password, hashed) or user is None:
        record_rate_event(session, pair)
        record_rate_event(session, spray)
        raise AuthError("wrong user name or password")
    session.execute(delete(RateEvent).where(RateEvent.key == pair))  # success resets this pair's back-off
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


def list_api_tokens(session: Session, user: User) -> list[ApiToken]:
    """The user's tokens (label, creation and last use; never the token itself), newest first."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))


def revoke_api_token(session: Session, user: User, token_id: int) -> None:
    """Delete one of the user's tokens (another user's token id looks like a missing one)."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise AuthError("no such token")
    session.delete(row)


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
