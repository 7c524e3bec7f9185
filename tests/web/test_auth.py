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


def _fail(db, login: str, client: str) -> None:  # noqa: ANN001
    with db.write() as session, pytest.raises(auth.AuthError, match="wrong user name or password"):
        auth.authenticate(session, login, "bad password", client)


def test_failures_back_off_per_account_and_client_only(db):
    """The attack: 5 wrong passwords used to lock the account for everyone (the organiser's too) for 15 minutes.
    Now the guessing client backs off; the owner, from another client, signs in at once."""
    with db.write() as session:
        auth.create_user(session, "erin", "erin@example.org", "correct horse battery")
    for _ in range(auth.FREE_ATTEMPTS):
        _fail(db, "erin", "1.2.3.4")
    with db.write() as session, pytest.raises(auth.RateLimited, match=r"wait \d+ s"):
        auth.authenticate(session, "ERIN@example.org", "correct horse battery", "1.2.3.4")
    with db.write() as session:
        assert auth.authenticate(session, "erin", "correct horse battery", "5.6.7.8").name == "erin"
    with db.write() as session, pytest.raises(auth.AuthError, match="wrong"):  # unknown users look the same
        auth.authenticate(session, "nobody", "whatever pw", "9.9.9.9")


def test_back_off_doubles_and_is_capped(db):
    with db.write() as session:
        auth.create_user(session, "ed", "ed@example.org", "correct horse battery")
    with db.write() as session:
        for _ in range(auth.FREE_ATTEMPTS + 3):
            auth.record_rate_event(session, "login:1|1.2.3.4")
    now = utcnow()
    with db.read() as session:
        wait = auth.login_wait(session, "login:1|1.2.3.4", now)
        assert auth.BACKOFF_START * 8 - dt.timedelta(seconds=2) <= wait <= auth.BACKOFF_START * 8
        assert auth.login_wait(session, "login:1|other", now) == dt.timedelta(0)
    with db.write() as session:
        for _ in range(40):
            auth.record_rate_event(session, "login:1|1.2.3.4")
    with db.read() as session:
        assert auth.login_wait(session, "login:1|1.2.3.4", utcnow()) <= auth.BACKOFF_MAX


def test_right_password_resets_the_pair(db):
    with db.write() as session:
        auth.create_user(session, "eve", "eve@example.org", "correct horse battery")
    for _ in range(auth.FREE_ATTEMPTS - 1):
        _fail(db, "eve", "1.2.3.4")
    with db.write() as session:
        auth.authenticate(session, "eve", "correct horse battery", "1.2.3.4")
    for _ in range(auth.FREE_ATTEMPTS - 1):
        _fail(db, "eve", "1.2.3.4")  # a fresh allowance, no back-off yet


def test_password_change_checks_the_old_one_and_ends_other_sessions(db):
    with db.write() as session:
        user = auth.create_user(session, "ivy", "ivy@example.org", "correct horse battery")
        here, there = auth.start_session(session, user), auth.start_session(session, user)
    with db.write() as session, pytest.raises(auth.AuthError, match="current password is wrong"):
        auth.change_password(session, session.get(type(user), user.id), "nope nope nope", "a new long password")
    with db.write() as session:
        auth.change_password(session, session.get(type(user), user.id), "correct horse battery",
                             "a new long password", keep_session=here)
    with db.write() as session:
        assert auth.user_for_session(session, here) is not None and auth.user_for_session(session, there) is None
        assert auth.authenticate(session, "ivy", "a new long password", "1.1.1.1").name == "ivy"


def test_tokens_are_listed_and_revoked_by_their_owner_only(db):
    with db.write() as session:
        a = auth.create_user(session, "jo", "jo@example.org", "correct horse battery")
        b = auth.create_user(session, "kim", "kim@example.org", "correct horse battery")
        token = auth.create_api_token(session, a, "laptop")
    with db.write() as session:
        rows = auth.list_api_tokens(session, a)
        assert [r.label for r in rows] == ["laptop"] and token not in str(vars(rows[0]))
        with pytest.raises(auth.AuthError, match="no such token"):
            auth.revoke_api_token(session, b, rows[0].id)
    with db.write() as session:
        auth.revoke_api_token(session, a, rows[0].id)
    with db.read() as session:
        assert auth.user_for_token(session, token) is None


def test_csrf_matches():
    token = auth.new_csrf_token()
    assert auth.csrf_matches(token, token)
    assert not auth.csrf_matches(token, None) and not auth.csrf_matches(None, None)
    assert not auth.csrf_matches(token, token[:-1] + ("A" if token[-1] != "A" else "B"))


def test_user_names_and_team_names_share_one_namespace(db):
    from lesionkit.web.tables import Team

    with db.write() as session:
        session.add(Team(name="lab-x"))
    with db.write() as session, pytest.raises(auth.AuthError, match="already registered"):
        auth.create_user(session, "lab-x", "fay@example.org", "correct horse battery")
