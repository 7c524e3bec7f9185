"""Accounts, sessions, tokens, CSRF and rate limits (lesionkit.web.auth)."""

from __future__ import annotations

import datetime as dt

import pytest

pytest.importorskip("pwdlib")
pytest.importorskip("sqlalchemy")

from sqlalchemy import select  # noqa: E402

from lesionkit.web import auth  # noqa: E402
from lesionkit.web.database import Base, Database  # noqa: E402
from lesionkit.web.tables import ApiToken, WebSession, utcnow  # noqa: E402


@pytest.fixture
def db(tmp_path):
    database = Database(str(tmp_path / "auth.db"))
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


def test_passwords_are_argon2_hashes(db):
    with db.write() as session:
        user = auth.create_user(session, "alice", "Alice@Example.org", "correct horse battery")
        assert user.password_hash.startswith("$argon2id$") and "correct" not in user.password_hash
        assert user.email == "alice@example.org"
    assert auth.verify_password("correct horse battery", user.password_hash)
    assert not auth.verify_password("correct horse batterx", user.password_hash)


@pytest.mark.parametrize("name, email, password, problem", [
    ("a", "a@example.org", "long enough pw", "user name"),
    ("<script>", "a@example.org", "long enough pw", "user name"),
    ("alice2", "not-an-email", "long enough pw", "e-mail"),
    ("alice2", "a2@example.org", "short", "password"),
])
def test_bad_sign_ups_refused(db, name, email, password, problem):
    with db.write() as session, pytest.raises(auth.AuthError, match=problem):
        auth.create_user(session, name, email, password)


def test_duplicate_user_refused(db):
    with db.write() as session:
        auth.create_user(session, "bob", "bob@example.org", "correct horse battery")
    with db.write() as session, pytest.raises(auth.AuthError, match="already registered"):
        auth.create_user(session, "bob2", "BOB@example.org", "correct horse battery")


def test_sessions_are_opaque_and_expire(db):
    with db.write() as session:
        user = auth.create_user(session, "carol", "carol@example.org", "correct horse battery")
        token = auth.start_session(session, user)
    with db.write() as session:
        stored = session.scalar(select(WebSession))
        assert stored.token_hash != token and token not in stored.token_hash  # only a digest is kept
        assert auth.user_for_session(session, token).name == "carol"
        assert auth.user_for_session(session, token + "x") is None
        stored.expires_at = utcnow() - dt.timedelta(seconds=1)
    with db.write() as session:
        assert auth.user_for_session(session, token) is None
        auth.end_session(session, token)
        assert session.scalar(select(WebSession)) is None


def test_api_tokens(db):
    with db.write() as session:
        user = auth.create_user(session, "dave", "dave@example.org", "correct horse battery")
        token = auth.create_api_token(session, user, "laptop")
    with db.read() as session:
        assert auth.user_for_token(session, token).name == "dave"
        assert auth.user_for_token(session, "lk_guess") is None
        assert session.scalar(select(ApiToken)).token_hash != token


def test_authenticate_counts_failures_per_account(db):
    with db.write() as session:
        auth.create_user(session, "erin", "erin@example.org", "correct horse battery")
    for _ in range(3):
        with db.write() as session, pytest.raises(auth.AuthError, match="wrong user name or password"):
            auth.authenticate(session, "erin", "bad password", "1.2.3.4", limit=3)
    with db.write() as session, pytest.raises(auth.RateLimited):
        auth.authenticate(session, "erin@example.org".upper(), "correct horse battery", "5.6.7.8", limit=3)
    with db.write() as session, pytest.raises(auth.AuthError, match="wrong"):  # unknown users look the same
        auth.authenticate(session, "nobody", "whatever pw", "9.9.9.9")


def test_csrf_matches():
    token = auth.new_csrf_token()
    assert auth.csrf_matches(token, token)
    assert not auth.csrf_matches(token, None) and not auth.csrf_matches(None, None)
    assert not auth.csrf_matches(token, token[:-1] + ("A" if token[-1] != "A" else "B"))


def test_join_team(db):
    with db.write() as session:
        a = auth.create_user(session, "fay", "fay@example.org", "correct horse battery")
        b = auth.create_user(session, "gus", "gus@example.org", "correct horse battery")
        team = auth.join_team(session, a, "lab-x")
        assert auth.join_team(session, b, "lab-x").id == team.id
        session.flush()
        assert a.team_name == b.team_name == "lab-x"
