"""Leaderboards: per phase and combined, ATLAS mean rank (:func:`lesionkit.metrics.rank_submissions`), and
per-case rank-then-aggregate with bootstrap intervals of each entry's rank.

Rank-then-aggregate: on every case each entry is ranked per metric (ties share the average rank; an
undefined value ranks last), the ranks are averaged over metrics, then over cases. Resampling the cases
with replacement (seeded) and ranking the entries again gives a 95 % interval of each entry's place, so
an organiser sees which places are statistically separable — overlapping intervals are not.
"""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sqlalchemy import select
from sqlalchemy.orm import Session

from lesionkit.challenge.phases import leaderboard_visible
from lesionkit.challenge.tables import Phase, Submission
from lesionkit.metrics import rank_submissions
from lesionkit.metrics.ranking import HIGHER_IS_BETTER
from lesionkit.web.tables import User

__all__ = [
    "bootstrap_rank_intervals",
    "case_table",
    "combined_leaderboard",
    "leaderboard_csv",
    "leaderboard_json",
    "phase_entries",
    "phase_leaderboard",
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


def phase_entries(session: Session, phase: Phase) -> list[Submission]:
    """One entry per team: its best (mean rank among all scored submissions) or latest, per the phase policy."""
    subs = _scored(session, phase)
    if not subs:
        return []
    if phase.entry_policy == "latest":
        latest: dict[str, Submission] = {}
        for sub in subs:
            latest[sub.team_name] = sub
        return list(latest.values())
    ranks = rank_submissions({str(s.id): case_table(s) for s in subs}, metrics=phase.metrics)
    by_id = {str(s.id): s for s in subs}
    best: dict[str, Submission] = {}
    for sub_id in ranks.index:  # best first
        best.setdefault(by_id[sub_id].team_name, by_id[sub_id])
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
        "team": [s.team_name for s in entries],
        "submission": [s.id for s in entries],
        "method": [s.method for s in entries],
        "code_url": [s.code_url for s in entries],
        "submitted": [s.created_at.isoformat(timespec="seconds") for s in entries],
    }).set_index("team")


_CACHE: dict[tuple, pd.DataFrame] = {}
_CACHE_SIZE = 64


def _cache_key(session: Session, phase: Phase, n_resamples: int, seed: int) -> tuple:
    """What a leaderboard depends on: the phase's rules and every live submission's id and scoring time."""
    scored = session.execute(
        select(Submission.id, Submission.scored_at)
        .where(Submission.phase_id == phase.id, Submission.status.in_(LIVE), Submission.scored_at.is_not(None))
    ).all()
    return (phase.id, phase.entry_policy, tuple(phase.metrics), n_resamples, seed, tuple(sorted(scored)))


def phase_leaderboard(session: Session, phase: Phase, n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """The phase's leaderboard, best first: mean-rank ``rank`` and ``score``, metric means, and the
    rank-then-aggregate place with its bootstrap interval. Cached until a submission is (re)scored, so
    readers under load cost one small query each."""
    key = _cache_key(session, phase, n_resamples, seed)
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = _compute_leaderboard(session, phase, n_resamples, seed)
    return _CACHE[key].copy()


def _compute_leaderboard(session: Session, phase: Phase, n_resamples: int, seed: int) -> pd.DataFrame:
    entries = phase_entries(session, phase)
    if not entries:
        return pd.DataFrame()
    tables = {s.team_name: case_table(s) for s in entries}
    ranked = rank_submissions(tables, metrics=phase.metrics)
    ranked.index.name = "team"
    table = _entry_frame(entries).join(ranked).join(bootstrap_rank_intervals(tables, phase.metrics, n_resamples, seed))
    return table.sort_values(["rank", "submission"]).reset_index()


def combined_leaderboard(session: Session, user: User | None) -> tuple[pd.DataFrame, list[Phase]]:
    """All phases the viewer may see, weighted (hidden phase 4× by default); teams with an entry in each."""
    phases = [p for p in session.scalars(select(Phase).order_by(Phase.id)) if leaderboard_visible(p, user)]
    per_phase = {p.name: {s.team_name: case_table(s) for s in phase_entries(session, p)} for p in phases}
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


def leaderboard_csv(table: pd.DataFrame) -> str:
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, float_format="%.6g")
    return buffer.getvalue()
