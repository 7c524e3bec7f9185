"""Ranking several submissions the ATLAS R2.0 way.

Rule: for each phase (a set of cases), each submission's per-metric **case mean** is ranked across
submissions (rank 1 = best: highest Dice and lesion-wise F1, lowest volume and lesion-count
difference); the phase score is the **mean rank** over metrics. The final score is the weighted mean of
phase scores (the ATLAS final ranking weighted the hidden test phase 4×), and the final rank orders that
score (lower is better).

Ties: equal case means (compared at 10 significant digits, so summation order cannot break a tie)
share the average of the ranks they span (fractional ranking: two submissions tied for first both get
1.5), so a tie never helps or hurts the others. Final ranks are tied the same way.
Case means leave out NaN (undefined) cases; an ``inf`` distance makes a mean ``inf``, the worst.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

__all__ = ["ATLAS_RANKING_METRICS", "HIGHER_IS_BETTER", "rank_submissions"]

#: The ATLAS R2.0 challenge ranking metrics.
ATLAS_RANKING_METRICS = ("dice", "volume_difference", "lesion_count_difference", "lesion_f1")
#: Metrics where a larger value is better; every other metric ranks smaller-is-better.
HIGHER_IS_BETTER = frozenset({"dice", "lesion_f1", "tpr", "precision", "mdsc"})


def _phase_ranks(results: Mapping[str, pd.DataFrame], metrics: Sequence[str]) -> pd.DataFrame:
    means = pd.DataFrame({name: rows[list(metrics)].mean(skipna=True) for name, rows in results.items()}).T
    table = means.add_suffix("_mean")
    for metric in metrics:
        # Compare at 10 significant digits: float summation order must not break a true tie.
        compared = means[metric].map(lambda v: float(f"{v:.10g}"))
        table[f"{metric}_rank"] = compared.rank(method="average", ascending=metric not in HIGHER_IS_BETTER)
    table["score"] = table[[f"{m}_rank" for m in metrics]].mean(axis=1)
    return table


def rank_submissions(
    results: Mapping[str, pd.DataFrame] | Mapping[str, Mapping[str, pd.DataFrame]],
    metrics: Sequence[str] = ATLAS_RANKING_METRICS,
    phase_weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Rank submissions; returns one row per submission, best first.

    ``results`` maps submission name → per-case table (one phase), or phase name → {submission →
    per-case table} together with ``phase_weights`` (phase → weight, e.g. ``{"test": 1, "hidden": 4}``).
    Columns: per phase ``<phase>/<metric>_mean``, ``<phase>/<metric>_rank`` and ``<phase>/score``
    (no prefix for a single phase), then ``score`` and ``rank``.
    """
    if phase_weights is None:
        table = _phase_ranks(results, metrics)  # type: ignore[arg-type]
    else:
        missing = set(phase_weights) ^ set(results)
        if missing:
            raise ValueError(f"phase_weights and results name different phases: {sorted(missing)}")
        names = None
        parts, total = [], 0.0
        for phase, weight in phase_weights.items():
            phase_table = _phase_ranks(results[phase], metrics)  # type: ignore[arg-type]
            if names is not None and set(phase_table.index) != names:
                raise ValueError(f"phase {phase!r} has other submissions than the previous phases")
            names = set(phase_table.index)
            parts.append(phase_table.add_prefix(f"{phase}/"))
            total += weight
        table = pd.concat(parts, axis=1)
        table["score"] = sum(table[f"{p}/score"] * w for p, w in phase_weights.items()) / total
    table["rank"] = table["score"].rank(method="average")
    table.index.name = "submission"
    return table.sort_values(["rank"], kind="stable")
