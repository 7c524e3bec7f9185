"""Account tables shared by every lesionkit web app: users, teams, browser sessions, API tokens, rate events."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lesionkit.web.database import Base

__all__ = ["ApiToken", "RateEvent", "Team", "TeamInvitation", "TeamMembership", "User", "WebSession", "utcnow"]


def utcnow() -> dt.datetime:
    """Naive UTC now: SQLite keeps no time zone, so every timestamp is stored as naive UTC."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Team(Base):
    """A team: joined by invitation or approved request only (:mod:`lesionkit.challenge.teams`)."""

    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    frozen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Set by an organiser: no submissions and no membership changes."""
    removed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Removed by an organiser: off every leaderboard, members released."""
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), nullable=True)
    """Merged by an organiser into this team: its submissions count (and rank) as that team's."""
    members: Mapped[list[User]] = relationship(back_populates="team")


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    team: Mapped[Team | None] = relationship(back_populates="members")

    @property
    def team_name(self) -> str:
        """The team a user competes as: their team, or themselves alone."""
        return self.team.name if self.team is not None else self.name


class WebSession(Base):
    """An opaque browser session: the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    user: Mapped[User] = relationship()


class ApiToken(Base):
    """A bearer token for scripts; like sessions, only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    user: Mapped[User] = relationship()


class RateEvent(Base):
    """One counted event (a failed login, an upload) under a key; kept in the database so that every server
    process sees the same counts."""

    __tablename__ = "rate_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)


class TeamMembership(Base):
    """Who was in which team when: a row per stay, closed (``left_at``) when the member leaves."""

    __tablename__ = "team_memberships"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(10), default="member")
    """``admin`` (may invite and approve) or ``member``."""
    joined_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    left_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    how: Mapped[str] = mapped_column(String(20), default="created")
    """``created``, ``invited``, ``approved``, ``merged`` or ``organiser``."""
    user: Mapped[User] = relationship()
    team: Mapped[Team] = relationship()


class TeamInvitation(Base):
    """An invitation (a team admin asks a user) or a request (a user asks a team); joining needs the other
    side's consent: the invitee accepts, or a team admin approves."""

    __tablename__ = "team_invitations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    """``invite`` (made by a team admin) or ``request`` (made by the user)."""
    status: Mapped[str] = mapped_column(String(10), default="pending")
    """``pending``, ``accepted``, ``declined`` or ``withdrawn``."""
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    user: Mapped[User] = relationship()
    team: Mapped[Team] = relationship()
