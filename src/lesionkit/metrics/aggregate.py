"""Cohort-level statistics of per-case metrics: summaries, bootstrap CIs, micro Dice and strata.

Conventions
-----------
* ``mean``, ``median``, ``std`` (sample, ddof=1) and the 95 % CI are over **every** case. A distance
  that is ``inf`` (one mask empty) therefore makes the mean ``inf``: it is never averaged away. Each
  summary also counts ``n_inf`` and gives ``inf_fraction`` (the share of cases with a missed or
  wholly false lesion) and the same statistics over the finite cases only, under ``finite``.
* NaN means *undefined* (TPR with no true lesion, precision with no prediction): those cases are left
  out of that metric and counted in ``n_undefined``.
* The CI is the percentile bootstrap of the mean: ``n_resamples`` (1000, as Tomita et al.) resamples of
  the cases with replacement, seeded, 2.5th and 97.5th percentiles of the resampled means.
* ``micro_dice`` = 2·Σ overlap / Σ(pred + truth volume) over all cases (every voxel weighs the same).
* Strata: truth lesion-size quartile (Q1–Q4 by truth volume over cases with a lesion; empty truths
  form their own stratum), cohort, and any metadata column asked for (e.g. lesion location).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from lesionkit.metrics.pair import METRIC_KEYS

__all__ = ["bootstrap_ci", "micro_dice", "size_quartiles", "strata_table", "summarize", "summarize_metric"]


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int | np.random.Generator | None = 0,
    statistic: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of ``statistic`` (default: the mean) of ``values``.

    ``statistic`` receives a ``(n_resamples, n)`` array and must reduce along axis 1. Empty input → (nan, nan).
    """
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return float("nan"), float("nan")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    samples = data[rng.integers(0, data.size, size=(n_resamples, data.size))]
    with np.errstate(invalid="ignore"):  # inf - inf inside the mean of resamples holding inf
        stats = samples.mean(axis=1) if statistic is None else statistic(samples)
    alpha = (1.0 - confidence) / 2.0
    return _percentile(stats, 100 * alpha), _percentile(stats, 100 * (1 - alpha))


def _percentile(values: np.ndarray, q: float) -> float:
    """``numpy.percentile(values, q)`` (linear), except that interpolating towards ``inf`` gives ``inf``, not NaN."""
    ordered = np.sort(values)
    position = q / 100 * (ordered.size - 1)
    lo, hi = int(np.floor(position)), int(np.ceil(position))
    fraction = position - lo
    if fraction == 0 or ordered[lo] == ordered[hi]:
        return float(ordered[lo])
    if np.isinf(ordered[hi]):
        return float("inf")
    return float(ordered[lo] + fraction * (ordered[hi] - ordered[lo]))


def _describe(data: np.ndarray, n_resamples: int, seed: int | None) -> dict[str, float]:
    if data.size == 0:
        nan = float("nan")
        return {"n": 0, "mean": nan, "median": nan, "std": nan, "ci_low": nan, "ci_high": nan}
    with np.errstate(invalid="ignore"):
        std = float(np.std(data, ddof=1)) if data.size > 1 else 0.0
    low, high = bootstrap_ci(data, n_resamples=n_resamples, seed=seed)
    return {
        "n": int(data.size),
        "mean": float(np.mean(data)),
        "median": float(np.median(data)),
        "std": std if np.isfinite(std) else float("inf"),
        "ci_low": low,
        "ci_high": high,
    }


def summarize_metric(values: Iterable[float], n_resamples: int = 1000, seed: int | None = 0) -> dict:
    """Summary of one metric over cases (see the module docstring for inf and NaN)."""
    data = np.asarray(list(values), dtype=np.float64)
    defined = data[~np.isnan(data)]
    finite = defined[np.isfinite(defined)]
    out = _describe(defined, n_resamples, seed)
    n_inf = int(defined.size - finite.size)
    out.update(
        n_undefined=int(data.size - defined.size),
        n_inf=n_inf,
        inf_fraction=float(n_inf / defined.size) if defined.size else float("nan"),
    )
    if n_inf:
        out["finite"] = _describe(finite, n_resamples, seed)
    return out


def micro_dice(rows: pd.DataFrame) -> float:
    """2·Σ overlap / Σ(pred + truth volume) over all cases; 1 if every mask is empty."""
    total = float(rows["pred_volume"].sum() + rows["truth_volume"].sum())
    return 1.0 if total == 0 else float(2.0 * rows["overlap_volume"].sum() / total)


def size_quartiles(truth_volume: pd.Series) -> pd.Series:
    """Label each case Q1 (smallest) … Q4 by truth lesion volume; empty truths are ``"empty"``."""
    labels = pd.Series("empty", index=truth_volume.index, dtype=object)
    lesion = truth_volume > 0
    if lesion.any():
        ranks = truth_volume[lesion].rank(method="first")
        q = np.minimum((4 * (ranks - 1) // lesion.sum()).astype(int), 3) + 1
        labels[lesion] = [f"Q{k}" for k in q]
    return labels


def strata_table(
    rows: pd.DataFrame,
    by: Sequence[str],
    metrics: Sequence[str] = ("dice", "hd95", "assd", "tpr", "precision", "lesion_f1"),
) -> pd.DataFrame:
    """Mean (and for distances, the count of inf) of ``metrics`` per value of each column in ``by``."""
    parts = []
    for column in by:
        if column not in rows or rows[column].isna().all():
            continue
        for value, group in rows.groupby(column, sort=True, dropna=True):
            entry: dict[str, object] = {"stratum": column, "value": value, "n": len(group)}
            for metric in metrics:
                if metric in group:
                    data = group[metric].to_numpy(dtype=np.float64)
                    data = data[~np.isnan(data)]
                    entry[metric] = float(np.mean(data)) if data.size else float("nan")
                    if np.isinf(data).any():
                        entry[f"{metric}_n_inf"] = int(np.isinf(data).sum())
            parts.append(entry)
    return pd.DataFrame(parts)


def summarize(
    rows: pd.DataFrame,
    metrics: Sequence[str] = (*METRIC_KEYS, "mdsc"),
    n_resamples: int = 1000,
    seed: int | None = 0,
    strata: Sequence[str] = ("size_quartile", "cohort"),
) -> dict:
    """Cohort summary: per metric statistics, ``micro_dice`` and strata (JSON-ready dict)."""
    out: dict = {"n_cases": int(len(rows)), "metrics": {}, "bootstrap": {"n_resamples": n_resamples, "seed": seed}}
    for metric in metrics:
        if metric in rows and rows[metric].notna().any():
            out["metrics"][metric] = summarize_metric(rows[metric], n_resamples=n_resamples, seed=seed)
    if {"pred_volume", "truth_volume", "overlap_volume"} <= set(rows.columns):
        out["micro_dice"] = micro_dice(rows)
    table = strata_table(rows, strata)
    out["strata"] = table.replace({np.nan: None}).to_dict(orient="records")
    return out
