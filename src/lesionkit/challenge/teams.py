"""Teams with consent: a user creates a team (and is its admin), and others join only when both sides agree —
a team admin invites and the user accepts, or the user asks and a team admin approves. Every stay is recorded
(:class:`~lesionkit.web.tables.TeamMembership`); organisers may freeze, remove or merge teams.

Why it matters: a team's members read its submissions and share its leaderboard entry and its submission
limits, so joining by typing a name (the old rule) let anyone read a team's per-case results and spend its
hidden-phase quota. Limits also count per person (:mod:`lesionkit.challenge.submissions`), so changing teams
refreshes nothing. A submission keeps the team it was made for (``Submission.team_id``).
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lesionkit.web.auth import AuthError, valid_name
from lesionkit.web.tables import Team, TeamInvitation, TeamMembership, User, utcnow

__all__ = [
    "TeamError",
    "accept",
    "add_member",
    "bump_scores",
    "canonical_team",
    "create_team",
    "decline",
    "freeze_team",
    "invitations_for",
    "invite",
    "is_team_admin",
    "leave_team",
    "memberships",
    "merge_teams",
    "remove_team",
    "request_to_join",
    "team_ids",
    "team_named",
]


class TeamError(AuthError):
    """A refused team operation; the message is safe to show."""


def team_named(session: Session, name: str) -> Team | None:
    return session.scalar(select(Team).where(Team.name == name.strip()))


def _current(session: Session, user: User) -> TeamMembership | None:
    return session.scalar(select(TeamMembership).where(TeamMembership.user_id == user.id,
                                                       TeamMembership.left_at.is_(None)))


def is_team_admin(session: Session, user: User, team: Team) -> bool:
    row = _current(session, user)
    return row is not None and row.team_id == team.id and row.role == "admin"


def _check_active(team: Team) -> None:
    if team.removed or team.merged_into_id is not None:
        raise TeamError(f"team {team.name} no longer exists")
    if team.frozen:
        raise TeamError(f"team {team.name} is frozen by the organisers")


def _join(session: Session, user: User, team: Team, role: str, how: str) -> None:
    if user.team_id is not None:
        raise TeamError("leave your current team first")
    _check_active(team)
    user.team_id = team.id
    session.add(TeamMembership(team_id=team.id, user_id=user.id, role=role, how=how))
    # Other pending invitations and requests of this user lapse: one team at a time.
    session.execute(update(TeamInvitation).where(TeamInvitation.user_id == user.id, TeamInvitation.status == "pending")
                    .values(status="withdrawn", decided_at=utcnow()))
    session.flush()


def create_team(session: Session, user: User, name: str) -> Team:
    """A new team named ``name`` with ``user`` as its admin (team names and user names share one namespace,
    since a user without a team competes under their own name)."""
    name = name.strip()
    if not valid_name(name):
        raise TeamError("team name: 2–40 letters, digits, '.', '_' or '-'")
    taken = session.scalar(select(func.count()).select_from(Team).where(Team.name == name))
    taken = taken or (session.scalar(select(func.count()).select_from(User).where(User.name == name))
                      and name != user.name)
    if taken:
        raise TeamError(f"the name {name} is taken; to join an existing team, ask it for an invitation")
    if user.team_id is not None:
        raise TeamError("leave your current team first")
    team = Team(name=name)
    session.add(team)
    session.flush()
    _join(session, user, team, "admin", "created")
    return team


def _pending(session: Session, team: Team, user: User, kind: str) -> TeamInvitation:
    """The pending invitation or request between ``team`` and ``user`` (asking twice files nothing new), else a
    new one of ``kind``."""
    existing = session.scalar(select(TeamInvitation).where(TeamInvitation.team_id == team.id,
                                                           TeamInvitation.user_id == user.id,
                                                           TeamInvitation.status == "pending"))
    if existing is not None:
        return existing
    invitation = TeamInvitation(team_id=team.id, user_id=user.id, kind=kind)
    session.add(invitation)
    session.flush()
    return invitation


def invite(session: Session, admin: User, invitee_name: str) -> TeamInvitation:
    """``admin`` (a team admin) invites the user named ``invitee_name``; they join when they accept."""
    row = _current(session, admin)
    if row is None or row.role != "admin":
        raise TeamError("only a team admin can invite")
    team = session.get(Team, row.team_id)
    _check_active(team)
    invitee = session.scalar(select(User).where(User.name == invitee_name.strip()))
    if invitee is None:
        raise TeamError(f"no user {invitee_name.strip()[:40]!r}")
    if invitee.team_id == team.id:
        raise TeamError(f"{invitee.name} is in the team already")
    return _pending(session, team, invitee, "invite")


def request_to_join(session: Session, user: User, team_name: str) -> TeamInvitation:
    """``user`` asks to join ``team_name``; a team admin must approve."""
    team = team_named(session, team_name)
    if team is None:
        raise TeamError(f"no team {team_name.strip()[:40]!r}")
    _check_active(team)
    if user.team_id == team.id:
        raise TeamError("you are in this team already")
    return _pending(session, team, user, "request")


def _decidable(session: Session, user: User, invitation_id: int) -> TeamInvitation:
    """The pending invitation ``user`` may decide: an invite addressed to them, or a request to a team they
    administer. Anything else looks like it does not exist."""
    invitation = session.get(TeamInvitation, invitation_id)
    if invitation is None or invitation.status != "pending":
        raise TeamError("no such pending invitation")
    team = session.get(Team, invitation.team_id)
    if invitation.kind == "invite" and invitation.user_id == user.id:
        return invitation
    if invitation.kind == "request" and is_team_admin(session, user, team):
        return invitation
    raise TeamError("no such pending invitation")


def accept(session: Session, user: User, invitation_id: int) -> Team:
    """Accept an invitation (the invitee) or approve a request (a team admin); the user joins the team."""
    invitation = _decidable(session, user, invitation_id)
    joiner = session.get(User, invitation.user_id)
    team = session.get(Team, invitation.team_id)
    _join(session, joiner, team, "member", "invited" if invitation.kind == "invite" else "approved")
    invitation.status, invitation.decided_at = "accepted", utcnow()
    return team


def decline(session: Session, user: User, invitation_id: int) -> None:
    """Decline an invitation or a request (either side may also withdraw their own)."""
    invitation = session.get(TeamInvitation, invitation_id)
    own = invitation is not None and invitation.status == "pending" and (
        (invitation.kind == "request" and invitation.user_id == user.id)
        or (invitation.kind == "invite" and is_team_admin(session, user, session.get(Team, invitation.team_id))))
    if not own:
        invitation = _decidable(session, user, invitation_id)
    invitation.status, invitation.decided_at = ("withdrawn" if own else "declined"), utcnow()


def _close(session: Session, user: User) -> TeamMembership | None:
    row = _current(session, user)
    if row is not None:
        row.left_at = utcnow()
    user.team_id = None
    return row


def leave_team(session: Session, user: User) -> None:
    """``user`` leaves their team (recorded); if they were its last admin, the longest-standing member becomes
    admin. Past submissions stay the team's; the user's own counts against the limits stay theirs."""
    if user.team_id is None:
        raise TeamError("you are not in a team")
    team = session.get(Team, user.team_id)
    if team.frozen:
        raise TeamError(f"team {team.name} is frozen by the organisers")
    row = _close(session, user)
    session.flush()
    if row is not None and row.role == "admin":
        rest = list(session.scalars(select(TeamMembership).where(TeamMembership.team_id == team.id,
                                                                 TeamMembership.left_at.is_(None))
                                    .order_by(TeamMembership.joined_at, TeamMembership.id)))
        if rest and not any(r.role == "admin" for r in rest):
            rest[0].role = "admin"


def add_member(session: Session, team: Team, user: User, role: str = "member") -> None:
    """An organiser's (or a script's) direct addition, recorded as such; the user must be in no team."""
    _join(session, user, team, role, "organiser")


def freeze_team(session: Session, team: Team, frozen: bool = True) -> None:
    """Organisers: a frozen team can neither submit nor change members."""
    team.frozen = frozen


def remove_team(session: Session, team: Team) -> None:
    """Organisers: members are released and the team's entries leave every leaderboard (its submissions are
    kept, and still count against the members' personal limits)."""
    for member in session.scalars(select(User).where(User.team_id == team.id)):
        _close(session, member)
    team.removed = True
    bump_scores(session)


def merge_teams(session: Session, source: Team, target: Team) -> None:
    """Organisers: ``source``'s members move to ``target`` and its submissions count (and rank) as
    ``target``'s from now on; each move is recorded."""
    if source.id == target.id:
        raise TeamError("a team cannot be merged into itself")
    _check_active(target)
    for member in list(session.scalars(select(User).where(User.team_id == source.id))):
        _close(session, member)
        session.flush()
        _join(session, member, target, "member", "merged")
    source.merged_into_id = target.id
    session.execute(update(Team).where(Team.merged_into_id == source.id).values(merged_into_id=target.id))
    bump_scores(session)


def canonical_team(session: Session, team_id: int | None) -> Team | None:
    """The team a submission counts for now: its own, or the team it was merged into (None: no team)."""
    team = session.get(Team, team_id) if team_id is not None else None
    while team is not None and team.merged_into_id is not None:
        team = session.get(Team, team.merged_into_id)
    return team


def team_ids(session: Session, team: Team) -> list[int]:
    """``team`` and every team merged into it: whose submissions count as this team's."""
    ids, frontier = [team.id], [team.id]
    while frontier:
        frontier = list(session.scalars(select(Team.id).where(Team.merged_into_id.in_(frontier))))
        ids += frontier
    return ids


def memberships(session: Session, team: Team) -> list[TeamMembership]:
    """The team's history, oldest first."""
    return list(session.scalars(select(TeamMembership).where(TeamMembership.team_id == team.id)
                                .order_by(TeamMembership.joined_at, TeamMembership.id)))


def invitations_for(session: Session, user: User) -> dict[str, list[TeamInvitation]]:
    """Pending invitations to ``user`` and requests by them, and (for a team admin) the team's pending ones."""
    pending = select(TeamInvitation).where(TeamInvitation.status == "pending")
    mine = list(session.scalars(pending.where(TeamInvitation.user_id == user.id).order_by(TeamInvitation.id)))
    team: list[TeamInvitation] = []
    if user.team_id is not None and is_team_admin(session, user, session.get(Team, user.team_id)):
        team = list(session.scalars(pending.where(TeamInvitation.team_id == user.team_id)
                                    .order_by(TeamInvitation.id)))
    return {"received": [i for i in mine if i.kind == "invite"], "sent": [i for i in mine if i.kind == "request"],
            "team": team}


def bump_scores(session: Session) -> None:
    """Invalidate every cached leaderboard (they are keyed by this counter; see :mod:`leaderboard`)."""
    from lesionkit.challenge.tables import Challenge

    session.execute(update(Challenge).values(scores_version=Challenge.scores_version + 1))
