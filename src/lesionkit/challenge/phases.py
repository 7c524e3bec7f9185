"""Organiser operations: create the challenge, add phases with their hidden truth, change settings, and the
rules that follow from them (open now? leaderboard visible? per-case results shown?)."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from lesionkit.challenge.tables import Challenge, Phase, TruthCase
from lesionkit.challenge.truth import store_truth, truth_folder, unpacked_truth
from lesionkit.io import InvalidInputError, load_cohort
from lesionkit.metrics import ATLAS_RANKING_METRICS, METRIC_KEYS
from lesionkit.web.database import Database
from lesionkit.web.tables import User, utcnow

__all__ = [
    "PhaseSettings",
    "add_phase",
    "configure_challenge",
    "get_challenge",
    "get_phase",
    "is_open",
    "leaderboard_visible",
    "per_case_visible",
    "shown_figure",
    "shown_metrics",
    "replace_truth",
    "replace_truth_and_rescore",
    "update_phase",
]

log = logging.getLogger("lesionkit.challenge")
#: A hidden phase's defaults: submissions per person and per team in all, significant digits shown.
HIDDEN_MAX_TOTAL = 10
HIDDEN_DIGITS = 3
_PHASE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


@dataclass
class PhaseSettings:
    """What an organiser sets for a phase (see ``lesionkit challenge init --help``)."""

    title: str = ""
    opens_at: dt.datetime | None = None
    closes_at: dt.datetime | None = None
    parent: str | None = None
    hidden: bool = False
    leaderboard_now: bool | None = None
    """None: shown now unless the phase is hidden (then only after close)."""
    show_per_case: bool | None = None
    """None: shown unless the phase is hidden (grand-challenge issue 547: per-case scores leak the truth)."""
    max_submissions: int = 5
    window_hours: float = 24.0
    max_total: int | None = None
    """All-time cap per person and per team; None: none on an open phase, :data:`HIDDEN_MAX_TOTAL` on a hidden one
    (0 means no cap on a hidden phase)."""
    max_failed: int = 10
    """All-time cap on invalid and failed submissions per person and per team."""
    shown_metrics: list[str] | None = None
    """Metrics participants see; None: all on an open phase, the ranking metrics on a hidden one."""
    significant_digits: int | None = None
    """Shown figures' significant digits; None: full on an open phase, :data:`HIDDEN_DIGITS` on a hidden one
    (0 means full precision on a hidden phase)."""
    weight: float | None = None
    """Weight in the combined ranking; None: 4 for a hidden phase (as ATLAS and ISLES'22), else 1."""
    metrics: list[str] = field(default_factory=lambda: list(ATLAS_RANKING_METRICS))
    entry_policy: str = "best"
    max_upload_bytes: int = 512 * 2**20
    max_unpacked_bytes: int = 2 * 2**30
    max_members: int = 2000

    def check(self, new: bool = False) -> None:
        """ValueError naming the first bad setting; ``new``: a phase being created (it must not be closed)."""
        if new and self.closes_at is not None and self.closes_at <= utcnow():
            raise ValueError(f"closing date {self.closes_at:%Y-%m-%d %H:%M} UTC is in the past")
        for name in ("max_total", "max_failed", "significant_digits"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name.replace('_', ' ')} must not be negative")
        unknown_shown = set(self.shown_metrics or []) - set(METRIC_KEYS)
        if unknown_shown:
            raise ValueError(f"unknown shown metrics {sorted(unknown_shown)}; choose from {', '.join(METRIC_KEYS)}")
        if self.entry_policy not in ("best", "latest"):
            raise ValueError("entry policy must be 'best' or 'latest'")
        unknown = set(self.metrics) - set(METRIC_KEYS)
        if unknown or not self.metrics:
            raise ValueError(f"unknown ranking metrics {sorted(unknown)}; choose from {', '.join(METRIC_KEYS)}")
        if self.max_submissions < 1 or self.window_hours <= 0:
            raise ValueError("submission limit and window must be positive")
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValueError("a phase must close after it opens")


def get_challenge(session: Session) -> Challenge:
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        challenge = session.scalar(select(Challenge).order_by(Challenge.id))
    except (OperationalError, ProgrammingError):  # no tables: not a challenge database
        challenge = None
    if challenge is None:
        raise LookupError("this database holds no challenge; run `lesionkit challenge init` first")
    return challenge


def configure_challenge(db: Database, user_quota_bytes: int | None = None, total_quota_bytes: int | None = None,
                        job_seconds: float | None = None) -> None:
    """Set the challenge-wide storage quotas and the scoring time limit per job (None: leave as it is)."""
    for name, value in (("user_quota_bytes", user_quota_bytes), ("total_quota_bytes", total_quota_bytes),
                        ("job_seconds", job_seconds)):
        if value is not None and value <= 0:
            raise ValueError(f"{name.replace('_', ' ')} must be positive")
    with db.write() as session:
        challenge = get_challenge(session)
        for name, value in (("user_quota_bytes", user_quota_bytes), ("total_quota_bytes", total_quota_bytes),
                            ("job_seconds", job_seconds)):
            if value is not None:
                setattr(challenge, name, value)


def get_phase(session: Session, name: str) -> Phase | None:
    return session.scalar(select(Phase).where(Phase.name == name))


def _truth_cases(truth: Path):  # noqa: ANN202
    cases = [c for c in load_cohort(truth, space=None) if c.mask or c.mask_parts]
    if not cases:
        raise InvalidInputError(truth, "holds no lesion masks")
    ids = [c.id for c in cases]
    if len(set(ids)) != len(ids):
        raise InvalidInputError(truth, "holds several masks for one subject and session (several spaces?)")
    return cases


@dataclass
class _CopiedTruth:
    """Truth (and public images) copied into storage, not yet in the database."""

    cases: list[dict] = field(default_factory=list)
    grid: tuple[list[int], list[list[float]], list[float]] | None = None
    files: list[Path] = field(default_factory=list)

    def remove(self) -> None:
        """Undo the copy (the phase was not created or its truth not replaced)."""
        for path in self.files:
            path.unlink(missing_ok=True)


@contextlib.contextmanager
def _truth_source(truth: Path | BinaryIO, storage: Path) -> Iterator[Path]:
    """A truth folder as it is, or a truth archive (a file, or an uploaded stream) unpacked
    (:func:`~lesionkit.challenge.truth.unpacked_truth`)."""
    if not isinstance(truth, Path) or truth.is_file():
        with unpacked_truth(truth, storage) as folder:
            yield folder
    else:
        yield truth


def _as_source(truth: Path | str | BinaryIO) -> Path | BinaryIO:
    return truth if hasattr(truth, "read") else Path(truth)  # type: ignore[return-value]


def _copy_truth(storage: Path, phase_name: str, truth: Path | BinaryIO, images: Path | None) -> _CopiedTruth:
    """Copy every true mask (and public image) into storage, with no database transaction open: importing
    hundreds of masks takes a while, and SQLite's one writer must stay free for the workers' heartbeats."""
    copied = _CopiedTruth()
    try:
        with _truth_source(truth, storage) as source:
            _copy_cases(copied, storage, phase_name, source, images)
    except BaseException:
        copied.remove()
        raise
    return copied


def _copy_cases(copied: _CopiedTruth, storage: Path, phase_name: str, truth: Path, images: Path | None) -> None:
    folder = truth_folder(storage, phase_name)
    folder.mkdir(parents=True, exist_ok=True)
    cases = _truth_cases(truth)
    image_cases = {c.id: c for c in load_cohort(images, space=None)} if images else {}
    first = None
    for case in cases:
        name, affine, shape = store_truth(case, folder)
        copied.files.append(folder / name)
        if first is None:
            first = (affine, shape)
            spacing = [float(v) for v in np.linalg.norm(np.asarray(affine)[:3, :3], axis=0)]
            copied.grid = (list(shape), np.asarray(affine).tolist(), spacing)
        elif tuple(shape) != tuple(first[1]) or not np.allclose(affine, first[0], atol=1e-3):
            # Names the case id only: the truth's own paths are never echoed.
            raise InvalidInputError(None, f"true mask of {case.id} is on another grid than the first case")
        image_name = None
        image = image_cases.get(case.id)
        if image is not None and image.t1w is not None:
            image_name = f"{case.id}_T1w.nii.gz"
            (storage / "images" / phase_name).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(image.t1w, storage / "images" / phase_name / image_name)
            copied.files.append(storage / "images" / phase_name / image_name)
        copied.cases.append({"case_id": case.id, "subject": case.subject, "session": case.session,
                             "storage_name": name, "image_name": image_name})


def _add_truth(session: Session, phase: Phase, copied: _CopiedTruth) -> None:
    phase.grid_shape, phase.grid_affine, phase.spacing = copied.grid
    for row in copied.cases:
        session.add(TruthCase(phase_id=phase.id, **row))


def _check_new_phase(session: Session, name: str, settings: PhaseSettings) -> Phase | None:
    """The parent phase (None without one); ValueError when ``name`` exists or the parent does not."""
    if get_phase(session, name) is not None:
        raise ValueError(f"phase {name!r} exists already")
    if not settings.parent:
        return None
    parent = get_phase(session, settings.parent)
    if parent is None:
        raise ValueError(f"parent phase {settings.parent!r} does not exist")
    return parent


def add_phase(db: Database, name: str, truth: Path | str | BinaryIO, settings: PhaseSettings | None = None,
              challenge_name: str | None = None, storage: Path | str | None = None,
              images: Path | str | None = None) -> int:
    """Create the challenge if needed and add phase ``name`` with its hidden truth; returns the phase id.

    ``truth`` is a folder of masks in any layout :func:`lesionkit.io.load_cohort` reads, or a ``.zip`` /
    ``.tar.gz`` of one (a path, or an open binary file such as the admin page's upload), unpacked with a
    submission's caps and header checks. The masks are copied into
    storage first, then the phase is recorded in one short transaction (the copies are removed if that fails).
    """
    settings = settings or PhaseSettings()
    settings.check(new=True)
    if not _PHASE_NAME.match(name):
        raise ValueError("phase name: lower-case letters, digits, '-' or '_' (at most 40)")
    with db.read() as session:
        challenge = session.scalar(select(Challenge))
        if challenge is None and storage is None:
            raise ValueError("a new challenge needs a storage folder")
        store = Path(challenge.storage) if challenge is not None else Path(storage).resolve()
        _check_new_phase(session, name, settings)
    store.mkdir(parents=True, exist_ok=True)
    copied = _copy_truth(store, name, _as_source(truth), Path(images) if images else None)
    try:
        with db.write() as session:
            challenge = session.scalar(select(Challenge))
            if challenge is None:
                challenge = Challenge(name=challenge_name or "Lesion segmentation challenge", storage=str(store))
                session.add(challenge)
            elif challenge_name:
                challenge.name = challenge_name
            parent = _check_new_phase(session, name, settings)  # again: another organiser may have been quicker
            phase = Phase(name=name, title=settings.title or name, grid_shape=[], grid_affine=[], spacing=[])
            _apply(phase, settings, parent)
            session.add(phase)
            session.flush()
            _add_truth(session, phase, copied)
            phase_id = phase.id
    except BaseException:
        copied.remove()
        raise
    log.info("phase %s created with %d hidden cases", name, len(copied.cases))
    return phase_id


def _apply(phase: Phase, settings: PhaseSettings, parent: Phase | None) -> None:
    phase.opens_at, phase.closes_at = settings.opens_at, settings.closes_at
    phase.parent_id = parent.id if parent is not None else None
    phase.hidden = settings.hidden
    phase.leaderboard_now = (not settings.hidden) if settings.leaderboard_now is None else settings.leaderboard_now
    phase.show_per_case = (not settings.hidden) if settings.show_per_case is None else settings.show_per_case
    phase.max_submissions, phase.window_hours = settings.max_submissions, settings.window_hours
    hidden = settings.hidden
    total = settings.max_total if settings.max_total is not None else (HIDDEN_MAX_TOTAL if hidden else 0)
    phase.max_total = total or None
    phase.max_failed = settings.max_failed
    phase.shown_metrics = list(settings.shown_metrics) if settings.shown_metrics else (
        list(settings.metrics) if hidden else None)
    digits = settings.significant_digits
    digits = digits if digits is not None else (HIDDEN_DIGITS if hidden else 0)
    phase.significant_digits = digits or None
    phase.weight = (4.0 if settings.hidden else 1.0) if settings.weight is None else settings.weight
    phase.metrics, phase.entry_policy = list(settings.metrics), settings.entry_policy
    phase.max_upload_bytes, phase.max_unpacked_bytes = settings.max_upload_bytes, settings.max_unpacked_bytes
    phase.max_members = settings.max_members


def update_phase(session: Session, phase: Phase, **changes) -> None:
    """Change a phase's settings (the admin page); the names are :class:`PhaseSettings` fields."""
    settings = settings_of(phase)
    for key, value in changes.items():
        if not hasattr(settings, key):
            raise ValueError(f"unknown phase setting {key!r}")
        setattr(settings, key, value)
    settings.check()
    parent = get_phase(session, settings.parent) if settings.parent else None
    if settings.parent and (parent is None or parent.id == phase.id):
        raise ValueError(f"parent phase {settings.parent!r} is not another existing phase")
    _apply(phase, settings, parent)


def settings_of(phase: Phase) -> PhaseSettings:
    return PhaseSettings(
        title=phase.title, opens_at=phase.opens_at, closes_at=phase.closes_at,
        parent=phase.parent.name if phase.parent is not None else None, hidden=phase.hidden,
        leaderboard_now=phase.leaderboard_now, show_per_case=phase.show_per_case,
        max_submissions=phase.max_submissions, window_hours=phase.window_hours, weight=phase.weight,
        max_total=phase.max_total or 0, max_failed=phase.max_failed,
        shown_metrics=list(phase.shown_metrics) if phase.shown_metrics else None,
        significant_digits=phase.significant_digits or 0,
        metrics=list(phase.metrics), entry_policy=phase.entry_policy, max_upload_bytes=phase.max_upload_bytes,
        max_unpacked_bytes=phase.max_unpacked_bytes, max_members=phase.max_members,
    )


def replace_truth(db: Database, name: str, truth: Path | str | BinaryIO) -> None:
    """Replace a phase's hidden truth (a corrected reference; a folder or an archive, as for :func:`add_phase`);
    call :func:`jobs.rescore_phase` after it. The phase's grid becomes the new masks' grid."""
    with db.read() as session:
        phase = get_phase(session, name)
        if phase is None:
            raise ValueError(f"no phase {name!r}")
        storage = Path(get_challenge(session).storage)
    copied = _copy_truth(storage, name, _as_source(truth), None)
    try:
        with db.write() as session:
            phase = get_phase(session, name)
            if phase is None:
                raise ValueError(f"no phase {name!r}")
            images = {c.case_id: c.image_name for c in phase.cases}
            old = [truth_folder(storage, phase.name) / c.storage_name for c in phase.cases]
            for case in list(phase.cases):
                session.delete(case)
            session.flush()
            for row in copied.cases:  # public test images stay with their case
                row["image_name"] = row["image_name"] or images.get(row["case_id"])
            _add_truth(session, phase, copied)
            phase.truth_version += 1
    except BaseException:
        copied.remove()
        raise
    for path in old:
        path.unlink(missing_ok=True)


def replace_truth_and_rescore(db: Database, name: str, truth: Path | str | BinaryIO) -> int:
    """:func:`replace_truth`, then every stored submission of the phase queued again; returns how many."""
    from lesionkit.challenge.jobs import rescore_phase

    replace_truth(db, name, truth)
    return rescore_phase(db, name)


def is_open(phase: Phase, now: dt.datetime | None = None) -> bool:
    now = now or utcnow()
    return (phase.opens_at is None or phase.opens_at <= now) and (phase.closes_at is None or now < phase.closes_at)


def leaderboard_visible(phase: Phase, user: User | None, now: dt.datetime | None = None) -> bool:
    """Organisers always; everyone else when the phase shows it now, or once the phase has closed."""
    if user is not None and user.is_admin:
        return True
    now = now or utcnow()
    return phase.leaderboard_now or (phase.closes_at is not None and now >= phase.closes_at)


def per_case_visible(phase: Phase, user: User | None) -> bool:
    return (user is not None and user.is_admin) or phase.show_per_case


def shown_metrics(phase: Phase, user: User | None) -> list[str]:
    """The metrics ``user`` sees of this phase's scores (organisers: all)."""
    if (user is not None and user.is_admin) or not phase.shown_metrics:
        return list(METRIC_KEYS)
    return [k for k in METRIC_KEYS if k in phase.shown_metrics]


def shown_figure(phase: Phase, user: User | None, value: float | str | None) -> float | str | None:
    """``value`` as ``user`` may see it: rounded to the phase's significant digits (organisers: exact)."""
    digits = None if (user is not None and user.is_admin) else phase.significant_digits
    if digits is None or not isinstance(value, float | int) or isinstance(value, bool) or value == 0:
        return value
    if not np.isfinite(value):
        return value
    return float(f"{value:.{digits}g}")
