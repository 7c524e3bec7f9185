"""The challenge's tables: the challenge, its phases, hidden truth cases, submissions, per-case results, jobs.

Truth files live in the server's storage folder under opaque names (:attr:`TruthCase.storage_name`); their
original names and paths are never stored, so no page or API response can reveal them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lesionkit.metrics import ATLAS_RANKING_METRICS
from lesionkit.web.database import Base
from lesionkit.web.tables import Team, User, utcnow

__all__ = ["CaseResult", "Challenge", "Job", "Phase", "Submission", "TruthCase"]

#: Submission states: queued/scoring/scored count towards the submission limits, invalid/failed towards the
#: separate failure cap; only scored ones reach leaderboards.
SUBMISSION_STATES = ("queued", "scoring", "scored", "invalid", "failed")
DEFAULT_USER_QUOTA = 5 * 2**30
DEFAULT_TOTAL_QUOTA = 200 * 2**30
DEFAULT_JOB_SECONDS = 600.0


class Challenge(Base):
    __tablename__ = "challenges"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    storage: Mapped[str] = mapped_column(Text)
    """Folder holding uploads and the hidden truth (absolute path on the server)."""
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    user_quota_bytes: Mapped[int] = mapped_column(BigInteger, default=DEFAULT_USER_QUOTA,
                                                  server_default=str(DEFAULT_USER_QUOTA))
    """Upload bytes one person may keep in storage (scored archives are kept for rescoring)."""
    total_quota_bytes: Mapped[int] = mapped_column(BigInteger, default=DEFAULT_TOTAL_QUOTA,
                                                   server_default=str(DEFAULT_TOTAL_QUOTA))
    """Upload bytes all participants together may keep in storage."""
    job_seconds: Mapped[float] = mapped_column(Float, default=DEFAULT_JOB_SECONDS,
                                               server_default=str(DEFAULT_JOB_SECONDS))
    """Scoring time limit of one submission; past it the job fails with the reason."""
    scores_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Bumped whenever a leaderboard's input changes (a submission scored, a team merged): the cache key."""


class Phase(Base):
    __tablename__ = "phases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    opens_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    closes_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("phases.id"), nullable=True)
    """A phase a team must have a scored submission in before it may submit here."""
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    """A hidden phase: its leaderboard appears only after close (unless ``leaderboard_now``)."""
    leaderboard_now: Mapped[bool] = mapped_column(Boolean, default=True)
    show_per_case: Mapped[bool] = mapped_column(Boolean, default=True)
    max_submissions: Mapped[int] = mapped_column(Integer, default=5)
    """Per rolling window, counted per person and per team (both must have room)."""
    window_hours: Mapped[float] = mapped_column(Float, default=24.0)
    max_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """All-time cap per person and per team (None: none); hidden phases get one by default."""
    max_failed: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    """All-time cap on invalid and failed submissions per person and per team (they are not free)."""
    shown_metrics: Mapped[list | None] = mapped_column(JSON, nullable=True)
    """Metrics participants see (None: every metric; hidden phases default to the ranking metrics)."""
    significant_digits: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Shown figures rounded to this many significant digits (None: full precision; hidden phases: 3)."""
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    metrics: Mapped[list] = mapped_column(JSON, default=lambda: list(ATLAS_RANKING_METRICS))
    entry_policy: Mapped[str] = mapped_column(String(10), default="best")
    grid_shape: Mapped[list] = mapped_column(JSON)
    grid_affine: Mapped[list] = mapped_column(JSON)
    spacing: Mapped[list] = mapped_column(JSON)
    max_upload_bytes: Mapped[int] = mapped_column(BigInteger, default=512 * 2**20)
    max_unpacked_bytes: Mapped[int] = mapped_column(BigInteger, default=2 * 2**30)
    max_members: Mapped[int] = mapped_column(Integer, default=2000)
    truth_version: Mapped[int] = mapped_column(Integer, default=1)
    parent: Mapped[Phase | None] = relationship(remote_side="Phase.id")
    cases: Mapped[list[TruthCase]] = relationship(back_populates="phase", order_by="TruthCase.case_id")


class TruthCase(Base):
    __tablename__ = "truth_cases"
    __table_args__ = (UniqueConstraint("phase_id", "case_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[str] = mapped_column(String(120))
    subject: Mapped[str] = mapped_column(String(80))
    session: Mapped[str | None] = mapped_column(String(80), nullable=True)
    storage_name: Mapped[str] = mapped_column(String(80))
    image_name: Mapped[str | None] = mapped_column(String(80), nullable=True)
    """Public test image (``--images``), served to participants; the truth never is."""
    phase: Mapped[Phase] = relationship(back_populates="cases")


class Submission(Base):
    __tablename__ = "submissions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), nullable=True)
    team_name: Mapped[str] = mapped_column(String(80))
    method: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    code_url: Mapped[str] = mapped_column(String(500))
    archive_name: Mapped[str] = mapped_column(String(80))
    upload_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    stored_bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """Bytes of the archive still in storage (0 once an invalid or failed upload is deleted): the quota's count."""
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    status: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    warnings: Mapped[list] = mapped_column(JSON, default=list)
    missing_cases: Mapped[list] = mapped_column(JSON, default=list)
    extra_files: Mapped[list] = mapped_column(JSON, default=list)
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    """Case means of each metric (what leaderboards show)."""
    scorer_version: Mapped[str | None] = mapped_column(String(80), nullable=True)
    truth_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    scored_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    timings: Mapped[dict] = mapped_column(JSON, default=dict)
    phase: Mapped[Phase] = relationship()
    user: Mapped[User] = relationship()
    team: Mapped[Team | None] = relationship()
    results: Mapped[list[CaseResult]] = relationship(
        back_populates="submission", order_by="CaseResult.case_id", cascade="all, delete-orphan"
    )


class CaseResult(Base):
    __tablename__ = "case_results"
    __table_args__ = (UniqueConstraint("submission_id", "case_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[str] = mapped_column(String(120))
    missing: Mapped[bool] = mapped_column(Boolean, default=False)
    metrics: Mapped[dict] = mapped_column(JSON)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    submission: Mapped[Submission] = relationship(back_populates="results")


class Job(Base):
    """A durable scoring job. A worker holds it while ``lease_expires_at`` is in the future and renews the
    lease by heartbeat; an expired lease makes the job claimable again (up to ``max_attempts``)."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    worker: Mapped[str | None] = mapped_column(String(120), nullable=True)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    submission: Mapped[Submission] = relationship()
