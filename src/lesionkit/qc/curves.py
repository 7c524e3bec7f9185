"""How well a QC score ranks segmentations, measured against the truth: risk–coverage curves.

Flag the cases with the highest scores first. At each flagged share ``k/n`` (k = 0 … n−1) the *kept* cases
are the other ``n − k``; the curve is the mean Dice of the kept cases. A score that ranks failures first
makes the curve rise fastest. Its area is summarised as the AURC (Geifman et al. 2019): the mean selective
risk, risk being 1 − the kept cases' mean Dice, over the coverages ``1/n … 1`` — lower is better. Two peers
from the same cases: *random* flags (the mean over seeded random orders: a flat curve at the cohort's mean
Dice) and the *oracle*, which knows the truth: its curve flags by the true Dice, worst first, and its
``caught`` flags the failures first (a lesion-free case with a small false positive has Dice 0 without being
a failure), the best any score can do on either.

A *failure* is a lesioned case with Dice < :data:`FAILURE_DICE`, or a lesion-free case with more than
:data:`FALSE_POSITIVE_MM3` of predicted lesion; ``caught`` is the share of failures among the flagged cases
when :data:`FLAG_SHARE` of the cases are flagged (rounded to the nearest case), and ``share_to_catch`` the
smallest flagged share that catches :data:`CATCH_TARGET` of the failures: what a reviewer must check to catch
that many, whether or not the model's failure rate lets 20 % suffice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["CATCH_TARGET", "FAILURE_DICE", "FALSE_POSITIVE_MM3", "FLAG_SHARE", "is_failure", "risk_coverage",
           "rows_risk_coverage"]

FAILURE_DICE = 0.5
FALSE_POSITIVE_MM3 = 500.0
FLAG_SHARE = 0.2
CATCH_TARGET = 0.7


def is_failure(dice: float, truth_volume_mm3: float, pred_volume_mm3: float) -> bool:
    """The definition of the module docstring."""
    if truth_volume_mm3 > 0:
        return bool(dice < FAILURE_DICE)
    return bool(pred_volume_mm3 > FALSE_POSITIVE_MM3)


def _curve(order: np.ndarray, dice: np.ndarray) -> np.ndarray:
    """Mean Dice of the kept cases when the first k of ``order`` are flagged, k = 0 … n−1."""
    kept = dice[order][::-1].cumsum()[::-1]  # sum over order[k:]
    return kept / np.arange(len(dice), 0, -1)


def _caught(order: np.ndarray, failures: np.ndarray, share: float) -> float | None:
    if not failures.any():
        return None
    k = int(round(share * len(order)))
    return float(failures[order[:k]].sum() / failures.sum())


def _share_to_catch(order: np.ndarray, failures: np.ndarray, target: float = CATCH_TARGET) -> float | None:
    """The smallest flagged share ``k/n`` whose first ``k`` cases of ``order`` hold ``target`` of the failures."""
    if not failures.any():
        return None
    caught = failures[order].cumsum()
    k = int(np.searchsorted(caught, target * failures.sum() - 1e-9)) + 1
    return k / len(order)


def _summary(curves: np.ndarray, caught: list[float | None], points: np.ndarray, flag_share: float,
             to_catch: list[float | None]) -> dict:
    curve = curves.mean(axis=0)
    n = len(curve)
    at = [min(int(round(p * n)), n - 1) for p in points]
    caught_values = [c for c in caught if c is not None]
    to_catch_values = [c for c in to_catch if c is not None]
    return {
        "aurc": round(float(np.mean(1.0 - curve)), 4),
        "caught_at_flag_share": round(float(np.mean(caught_values)), 4) if caught_values else None,
        "share_to_catch": round(float(np.mean(to_catch_values)), 4) if to_catch_values else None,
        "kept_mean_dice_at_flag_share": round(float(curve[min(int(round(flag_share * n)), n - 1)]), 4),
        "curve": [[round(float(p), 3), round(float(curve[i]), 4)] for p, i in zip(points, at, strict=True)],
    }


def risk_coverage(
    scores: Sequence[float],
    dice: Sequence[float],
    failures: Sequence[bool],
    *,
    flag_share: float = FLAG_SHARE,
    n_random: int = 1000,
    seed: int = 0,
    points: int = 21,
) -> dict:
    """Risk–coverage of ``scores`` and of the random and oracle peers (see the module docstring).

    Returns ``{"n", "failures", "flag_share", "qc", "random", "oracle"}``; each peer has ``aurc``,
    ``caught_at_flag_share``, ``share_to_catch``, ``kept_mean_dice_at_flag_share`` and ``curve``
    (``[flagged share, mean Dice of the kept cases]`` at ``points`` evenly spaced shares from 0 to (n−1)/n: the
    last point keeps one case).
    Ties in ``scores`` keep the cases' order.
    """
    scores = np.asarray(scores, dtype=float)
    dice = np.asarray(dice, dtype=float)
    failures = np.asarray(failures, dtype=bool)
    n = len(scores)
    if n == 0 or len(dice) != n or len(failures) != n:
        raise ValueError("scores, dice and failures must be non-empty and of one length")
    if not np.isfinite(scores).all() or not np.isfinite(dice).all():
        raise ValueError("scores and Dice must be finite")
    shares = np.linspace(0.0, (n - 1) / n, points)
    qc_order = np.argsort(-scores, kind="stable")
    oracle_order = np.lexsort((~failures, dice))  # worst Dice first; failures first among equals
    catch_order = np.lexsort((dice, ~failures))  # failures first, worst Dice first among them
    rng = np.random.default_rng(seed)
    random_orders = [rng.permutation(n) for _ in range(n_random)]
    return {
        "n": n,
        "failures": int(failures.sum()),
        "flag_share": flag_share,
        "qc": _summary(_curve(qc_order, dice)[None], [_caught(qc_order, failures, flag_share)], shares, flag_share,
                       [_share_to_catch(qc_order, failures)]),
        "random": _summary(np.stack([_curve(o, dice) for o in random_orders]),
                           [_caught(o, failures, flag_share) for o in random_orders], shares, flag_share,
                           [_share_to_catch(o, failures) for o in random_orders]),
        "oracle": _summary(_curve(oracle_order, dice)[None], [_caught(catch_order, failures, flag_share)], shares,
                           flag_share, [_share_to_catch(catch_order, failures)]),
    }


def rows_risk_coverage(rows, scores: dict[str, tuple[float, str]], points: int = 101) -> dict | None:
    """:func:`risk_coverage` of per-case evaluation rows (``case_id``, ``dice``, ``truth_volume``,
    ``pred_volume``: ``lesionkit evaluate``'s table) whose case has a QC score; None with fewer than two."""
    matched = [i for i, case in enumerate(rows["case_id"]) if case in scores]
    if len(matched) < 2:
        return None
    picked = rows.iloc[matched]
    dice = picked["dice"].astype(float).to_numpy()
    failures = [is_failure(d, t, p) for d, t, p in zip(dice, picked["truth_volume"], picked["pred_volume"],
                                                       strict=True)]
    result = risk_coverage([scores[c][0] for c in picked["case_id"]], dice, failures,
                           points=min(points, len(matched)))
    result["flagged"] = sum(scores[c][1] == "check" for c in picked["case_id"])
    result["unscored"] = len(rows) - len(matched)
    return result
