"""Teams with consent (lesionkit.challenge.teams), written as the attacks the old "type a team name" rule allowed:
joining without consent, spending a team's quota, reading its results, refreshing limits by switching teams."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lesionkit.challenge import teams
from lesionkit.challenge.leaderboard import phase_leaderboard
from lesionkit.challenge.submissions import SubmissionRefused, create_submission
from lesionkit.challenge.tables import Phase, Submission
from lesionkit.challenge.worker import work_one
from lesionkit.web import auth
from lesionkit.web.tables import TeamInvitation, TeamMembership, User
from tests.challenge.conftest import PASSWORD, csrf, log_in, predictions_zip, sign_up, upload


def _users(db, *names):  # noqa: ANN001, ANN202
    with db.write() as session:
        for name in names:
            auth.create_user(session, name, f"{name}@example.org", PASSWORD)


def _user(session, name: str) -> User:  # noqa: ANN001
    return session.scalar(select(User).where(User.name == name))


def _submit(db, name: str, tmp_path, shift: int = 1) -> int:  # noqa: ANN001
    import io

    with db.write() as session:
        phase = session.scalar(select(Phase))
        sub = create_submission(session, phase, _user(session, name), io.BytesIO(predictions_zip(tmp_path, shift)),
                                "m", "d", "https://example.org/x")
        return sub.id


def _log_out(client) -> None:  # noqa: ANN001
    client.post("/logout", data={"csrf_token": csrf(client)})


def test_joining_by_typing_a_team_name_is_only_a_request(client, challenge_db, tmp_path):
    """The attack of the issue: POST /account/team team=alpha made mallory a member of alpha. Now it files a
    request that alpha's admin must approve; until then mallory reads nothing of alpha's and spends nothing."""
    sign_up(client, "alice", team="alpha")
    location = upload(client, predictions_zip(tmp_path)).headers["location"]
    assert work_one(challenge_db) == "scored"
    _log_out(client)
    sign_up(client, "mallory")
    assert client.post("/account/team", data={"team": "alpha", "csrf_token": csrf(client)},
                       follow_redirects=False).status_code == 303
    assert client.get(location).status_code == 404  # alpha's submission and per-case results stay alpha's
    with challenge_db.read() as session:
        mallory = _user(session, "mallory")
        assert mallory.team_id is None and mallory.team_name == "mallory"
        assert session.scalar(select(TeamInvitation)).status == "pending"
    upload(client, predictions_zip(tmp_path, 2), method="mallory-method")
    work_one(challenge_db)
    with challenge_db.read() as session:
        board = phase_leaderboard(session, session.scalar(select(Phase)))
    assert set(board["team"]) == {"alpha", "mallory"}  # not on the board under alpha's name
    # a request cannot be accepted by the requester, only by alpha's admin
    with challenge_db.read() as session:
        request_id = session.scalar(select(TeamInvitation.id))
    assert client.post("/account/team/accept", data={"invitation": request_id, "csrf_token": csrf(client)}
                       ).status_code == 400
    with challenge_db.read() as session:
        assert _user(session, "mallory").team_id is None


def test_invitation_accepted_and_request_approved(client, challenge_db, tmp_path):
    sign_up(client, "bea")
    _log_out(client)
    sign_up(client, "ada", team="ada-lab")
    location = upload(client, predictions_zip(tmp_path)).headers["location"]
    assert client.post("/account/team/invite", data={"user": "bea", "csrf_token": csrf(client)},
                       follow_redirects=False).status_code == 303
    _log_out(client)
    log_in(client, "bea")
    assert client.get(location).status_code == 404  # invited is not joined
    page = client.get("/account").text
    invitation = int(page.split('name="invitation" value="')[1].split('"')[0])
    client.post("/account/team/accept", data={"invitation": invitation, "csrf_token": csrf(client)})
    assert client.get(location).status_code == 200
    assert 'id="competing-as">ada-lab<' in client.get("/account").text
    # a request, approved by the team's admin
    _log_out(client)
    sign_up(client, "cyd")
    client.post("/account/team/request", data={"team": "ada-lab", "csrf_token": csrf(client)})
    _log_out(client)
    log_in(client, "ada")
    with challenge_db.read() as session:
        pending = session.scalar(select(TeamInvitation).where(TeamInvitation.kind == "request"))
    client.post("/account/team/accept", data={"invitation": pending.id, "csrf_token": csrf(client)})
    with challenge_db.read() as session:
        history = list(session.scalars(select(TeamMembership).order_by(TeamMembership.id)))
        assert [(m.user.name, m.role, m.how) for m in history] == [
            ("ada", "admin", "created"), ("bea", "member", "invited"), ("cyd", "member", "approved")]


@pytest.fixture
def engine_db(tmp_path, db_url):
    """A challenge on each real engine (SQLite and PostgreSQL)."""
    from tests.challenge.conftest import make_challenge

    db = make_challenge(tmp_path, db_url)
    yield db
    db.dispose()


def test_limits_count_per_person_and_per_team_and_switching_refreshes_nothing(engine_db, tmp_path):
    challenge_db = engine_db
    with challenge_db.write() as session:
        session.scalar(select(Phase)).max_submissions = 2
    _users(challenge_db, "dan", "eva")
    with challenge_db.write() as session:
        team = teams.create_team(session, _user(session, "dan"), "lab-d")
        teams.add_member(session, team, _user(session, "eva"))
    first = _submit(challenge_db, "dan", tmp_path)
    _submit(challenge_db, "eva", tmp_path)
    for name in ("dan", "eva"):  # the team's window is used up, for each member
        with pytest.raises(SubmissionRefused, match="per person and per team"):
            _submit(challenge_db, name, tmp_path)
    with challenge_db.write() as session:  # leaving and founding a new team refreshes nothing for dan...
        dan = _user(session, "dan")
        teams.leave_team(session, dan)
        teams.create_team(session, dan, "lab-fresh")
    _submit(challenge_db, "dan", tmp_path)  # ...he had used one of his own two
    with pytest.raises(SubmissionRefused, match="limit reached"):
        _submit(challenge_db, "dan", tmp_path)
    with challenge_db.read() as session:  # and a submission keeps the team it was made for
        assert session.get(Submission, first).team.name == "lab-d"
        history = list(session.scalars(select(TeamMembership).where(TeamMembership.user_id == _user(session, "dan").id)
                                       .order_by(TeamMembership.id)))
        assert [(m.team.name, m.left_at is not None) for m in history] == [("lab-d", True), ("lab-fresh", False)]
        # eva became lab-d's admin when its only admin left
        assert teams.is_team_admin(session, _user(session, "eva"), history[0].team)


def test_organisers_freeze_remove_and_merge_teams(engine_db, tmp_path):
    challenge_db = engine_db
    _users(challenge_db, "fox", "gil", "hal")
    with challenge_db.write() as session:
        for name, team in (("fox", "lab-f"), ("gil", "lab-g"), ("hal", "lab-h")):
            teams.create_team(session, _user(session, name), team)
    for name in ("fox", "gil", "hal"):
        _submit(challenge_db, name, tmp_path)
    while work_one(challenge_db):
        pass
    with challenge_db.write() as session:
        teams.freeze_team(session, teams.team_named(session, "lab-f"))
    with pytest.raises(SubmissionRefused, match="frozen"):
        _submit(challenge_db, "fox", tmp_path)
    with challenge_db.write() as session, pytest.raises(teams.TeamError, match="frozen"):
        teams.leave_team(session, _user(session, "fox"))
    with challenge_db.write() as session:
        teams.merge_teams(session, teams.team_named(session, "lab-g"), teams.team_named(session, "lab-h"))
        teams.remove_team(session, teams.team_named(session, "lab-f"))
    with challenge_db.read() as session:
        board = phase_leaderboard(session, session.scalar(select(Phase)))
        assert list(board["team"]) == ["lab-h"]  # lab-g's entry counts as lab-h's; lab-f is gone
        assert _user(session, "gil").team.name == "lab-h" and _user(session, "fox").team_id is None


def test_team_names_cannot_take_a_user_name(challenge_db):
    _users(challenge_db, "ike", "jan")
    with challenge_db.write() as session, pytest.raises(teams.TeamError, match="taken"):
        teams.create_team(session, _user(session, "ike"), "jan")
