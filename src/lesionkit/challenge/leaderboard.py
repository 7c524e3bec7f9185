"""Leaderboards: per phase and combined, ATLAS mean rank (:func:`lesionkit.metrics.rank_submissions`), and
per-case rank-then-aggregate with bootstrap intervals of each entry's rank.

Rank-then-aggregate: on every case each entry is ranked per metric (ties share the average rank; an
undefined value ranks last), the ranks are averaged over metrics, then over cases. Resampling the cases
with replacement (seeded) and ranking the entries again gives a 95 % interval of each entry's place, so
an organiser sees which places are statistically separable — overlapping intervals are not.

Entries are per team as the team is now: a merged team's submissions count as the team it was merged into,
a removed team's leave the board. Boards are cached per process and keyed by the challenge's
``scores_version`` (bumped in the transaction that scores, fails or merges), so a reader costs two small
queries; :func:`public_table` applies a hidden phase's disclosure rules (shown metrics, rounding).
"""

from __future__ import annotations

import io
import json
import math
import threading

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sqlalchemy import select
from sqlalchemy.orm import Session

from lesionkit.challenge.phases import leaderboard_visible, shown_figure, shown_metrics
from lesionkit.challenge.tables import Challenge, Phase, Submission
from lesionkit.metrics import rank_submissions
from lesionkit.metrics.ranking import HIGHER_IS_BETTER
from lesionkit.web.tables import Team, User

__all__ = [
    "bootstrap_rank_intervals",
    "case_table",
    "combined_leaderboard",
    "leaderboard_csv",
    "leaderboard_json",
    "phase_entries",
    "phase_leaderboard",
    "public_table",
]

LIVE = ("scored", "queued", "scoring")  # queued/scoring with results: being rescored, keep the old scores


def case_table(submission: Submission) -> pd.DataFrame:
    """The per-case metrics of a scored submission, one row per case (``inf`` and null restored)."""
    rows = []
    for result in submission.results:
        row = {"case_id": result.case_id, "missing": result.missing}
        for key, value in result.metrics.items():
            row[key] = float("inf") if value == "inf" else (float("nan") if value is None else value)
        rows.append(row)
    return pd.DataFrame(rows).set_index("case_id") if rows else pd.DataFrame()


def _scored(session: Session, phase: Phase) -> list[Submission]:
    return list(session.scalars(
        select(Submission)
        .where(Submission.phase_id == phase.id, Submission.status.in_(LIVE), Submission.scored_at.is_not(None))
        .order_by(Submission.created_at, Submission.id)
    ))


def _entrants(session: Session) -> dict[int, str | None]:
    """Team id → the name its submissions now count under (the merge target's; None for a removed team)."""
    teams = {t.id: t for t in session.scalars(select(Team))}
    names: dict[int, str | None] = {}
    for team_id, team in teams.items():
        seen = set()
        while team.merged_into_id is not None and team.id not in seen:
            seen.add(team.id)
            team = teams[team.merged_into_id]
        names[team_id] = None if team.removed else team.name
    return names


def phase_entries(session: Session, phase: Phase) -> list[Submission]:
    """One entry per team: its best (mean rank among all scored submissions) or latest, per the phase policy.
    Each returned submission's ``entrant`` attribute is the name it competes under."""
    names = _entrants(session)
    subs = []
    for sub in _scored(session, phase):
        entrant = sub.team_name if sub.team_id is None else names.get(sub.team_id)
        if entrant is not None:
            sub.entrant = entrant
            subs.append(sub)
    if not subs:
        return []
    if phase.entry_policy == "latest":
        latest: dict[str, Submission] = {}
        for sub in subs:
            latest[sub.entrant] = sub
        return list(latest.values())
    ranks = rank_submissions({str(s.id): case_table(s) for s in subs}, metrics=phase.metrics)
    by_id = {str(s.id): s for s in subs}
    best: dict[str, Submission] = {}
    for sub_id in ranks.index:  # best first
        best.setdefault(by_id[sub_id].entrant, by_id[sub_id])
    return list(best.values())


def bootstrap_rank_intervals(tables: dict[str, pd.DataFrame], metrics, n_resamples: int = 1000,  # noqa: ANN001
                             seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """Rank-then-aggregate score and rank of each entry, with a bootstrap interval of the rank."""
    names = list(tables)
    cases = sorted(set.intersection(*(set(t.index) for t in tables.values())))
    per_case = np.zeros((len(cases), len(names)))
    for metric in metrics:
        values = np.array([[tables[n].loc[c, metric] for n in names] for c in cases], dtype=float)
        sign = -1.0 if metric in HIGHER_IS_BETTER else 1.0
        keyed = np.where(np.isnan(values), np.inf, sign * values)  # undefined ranks last
        per_case += rankdata(keyed, axis=1, method="average")
    per_case /= len(metrics)
    score = per_case.mean(axis=0)
    rng = np.random.default_rng(seed)
    samples = rng.integers(0, len(cases), size=(n_resamples, len(cases)))
    boot = per_case[samples].mean(axis=1)  # (resamples, entries)
    boot_rank = rankdata(boot, axis=1, method="average")
    alpha = (1 - level) / 2
    return pd.DataFrame({
        "case_rank_score": score,
        "case_rank": rankdata(score, method="average"),
        "rank_ci_low": np.quantile(boot_rank, alpha, axis=0),
        "rank_ci_high": np.quantile(boot_rank, 1 - alpha, axis=0),
    }, index=pd.Index(names, name="team"))


def _entry_frame(entries: list[Submission]) -> pd.DataFrame:
    return pd.DataFrame({
        "team": [s.entrant for s in entries],
        "submission": [s.id for s in entries],
        "method": [s.method for s in entries],
        "code_url": [s.code_url for s in entries],
        "submitted": [s.created_at.isoformat(timespec="seconds") for s in entries],
    }).set_index("team")


_CACHE: dict[tuple, object] = {}
_CACHE_SIZE = 64


def _version(session: Session) -> tuple:
    """The database and its ``scores_version``: what every cached board is keyed by."""
    return (str(session.get_bind().url), session.scalar(select(Challenge.scores_version)))


_LOCK = threading.Lock()
_BUILDING: dict[tuple, threading.Event] = {}
_LATEST: dict[tuple, object] = {}  # board family (key without the version) → its newest computed board


def _cached(key: tuple, compute):  # noqa: ANN001, ANN202
    """The board under ``key``, computed once however many readers ask at the same time: the first computes it;
    the others meanwhile get the family's previous board (stale by at most the computing time) or, when there
    is none, wait for the first. A lone reader always sees the current board."""
    family = key[:2] + key[3:]
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        building = _BUILDING.get(key)
        if building is None:
            _BUILDING[key] = building = threading.Event()
            mine = True
        else:
            mine = False
            if family in _LATEST:
                return _LATEST[family]
    if not mine:
        building.wait(120)
        with _LOCK:
            if key in _CACHE:
                return _CACHE[key]
        return compute()  # the builder failed: compute for this reader
    try:
        value = compute()
        with _LOCK:
            if len(_CACHE) >= _CACHE_SIZE:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = _LATEST[family] = value
        return value
    finally:
        with _LOCK:
            _BUILDING.pop(key, None)
        building.set()


def _phase_key(phase: Phase) -> tuple:
    return (phase.id, phase.entry_policy, tuple(phase.metrics), phase.weight)


def phase_leaderboard(session: Session, phase: Phase, n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """The phase's leaderboard, best first: mean-rank ``rank`` and ``score``, metric means, and the
    rank-then-aggregate place with its bootstrap interval. Cached until a submission is (re)scored or a team
    merged or removed, so readers under load cost one small query each."""
    key = ("phase", *_version(session), _phase_key(phase), n_resamples, seed)
    return _cached(key, lambda: _compute_leaderboard(session, phase, n_resamples, seed)).copy()


def _compute_leaderboard(session: Session, phase: Phase, n_resamples: int, seed: int) -> pd.DataFrame:
    entries = phase_entries(session, phase)
    if not entries:
        return pd.DataFrame()
    tables = {s.entrant: case_table(s) for s in entries}
    ranked = rank_submissions(tables, metrics=phase.metrics)
    ranked.index.name = "team"
    table = _entry_frame(entries).join(ranked).join(bootstrap_rank_intervals(tables, phase.metrics, n_resamples, seed))
    return table.sort_values(["rank", "submission"]).reset_index()


def combined_leaderboard(session: Session, user: User | None) -> tuple[pd.DataFrame, list[Phase]]:
    """All phases the viewer may see, weighted (hidden phase 4× by default); teams with an entry in each.
    Cached like the phase boards (keyed also by which phases the viewer sees)."""
    phases = [p for p in session.scalars(select(Phase).order_by(Phase.id)) if leaderboard_visible(p, user)]
    key = ("combined", *_version(session), tuple(_phase_key(p) for p in phases))
    table, names = _cached(key, lambda: _compute_combined(session, phases))
    return table.copy(), [p for p in phases if p.name in names]


def _compute_combined(session: Session, phases: list[Phase]) -> tuple[pd.DataFrame, list[str]]:
    table, shown = _combine(session, phases)
    return table, [p.name for p in shown]


def _combine(session: Session, phases: list[Phase]) -> tuple[pd.DataFrame, list[Phase]]:
    per_phase = {p.name: {s.entrant: case_table(s) for s in phase_entries(session, p)} for p in phases}
    phases = [p for p in phases if per_phase[p.name]]
    if not phases:
        return pd.DataFrame(), []
    teams = set.intersection(*(set(per_phase[p.name]) for p in phases))
    if not teams:
        return pd.DataFrame(), phases
    results = {p.name: {t: per_phase[p.name][t] for t in sorted(teams)} for p in phases}
    metrics = phases[0].metrics
    ranked = rank_submissions(results, metrics=metrics, phase_weights={p.name: p.weight for p in phases})
    ranked.index.name = "team"
    return ranked.reset_index(), phases


def _clean(value):  # noqa: ANN001, ANN202
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, np.generic):
        return _clean(value.item())
    return value


def leaderboard_json(table: pd.DataFrame) -> str:
    rows = [{k: _clean(v) for k, v in row.items()} for row in table.to_dict(orient="records")]
    return json.dumps(rows, indent=1)


#: Leading characters that make a spreadsheet read a cell as a formula (OWASP's list).
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value):  # noqa: ANN001, ANN202
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe (numbers stay numbers)."""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def leaderboard_csv(table: pd.DataFrame) -> str:
    """CSV of a leaderboard; method names and URLs are participants' text, so formula-like cells are escaped."""
    buffer = io.StringIO()
    table.map(_csv_cell).to_csv(buffer, index=False, float_format="%.6g")
    return buffer.getvalue()


#: Columns every viewer sees (the rest are metric columns, subject to the phase's disclosure rules).
_ENTRY_COLUMNS = ("team", "submission", "method", "code_url", "submitted", "rank", "score", "case_rank_score",
                  "case_rank", "rank_ci_low", "rank_ci_high")


def public_table(table: pd.DataFrame, phase: Phase, user: User | None) -> pd.DataFrame:
    """The leaderboard as ``user`` may see it: only the phase's shown metrics, rounded to its digits."""
    if table.empty:
        return table
    shown = shown_metrics(phase, user)
    keep = [c for c in table.columns if c in _ENTRY_COLUMNS or c.rsplit("_", 1)[0] in shown]
    out = table[keep].copy()
    for column in keep:
        if column not in _ENTRY_COLUMNS and column.endswith("_mean"):
            out[column] = [shown_figure(phase, user, float(v)) for v in out[column]]
    return out
