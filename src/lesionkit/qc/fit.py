"""Fitting the QC score's weights: an L2-regularised logistic regression of failures, with sign constraints.

Every input of :data:`lesionkit.qc.score.INPUTS` is standardised by its mean and standard deviation over
the fit cases (an undefined value becomes the mean: it carries no evidence either way, as at scoring
time); classes are weighted by their inverse frequency so the rarer failures count as much as the
successes. The objective is scikit-learn's ``LogisticRegression(class_weight="balanced")``'s —
``C · Σ wᵢ · log-loss + ½‖β‖²``, intercept unpenalised — minimised by SciPy's L-BFGS-B, which scikit-learn
cannot do with bounds: every weight but those of :data:`FREE_SIGN` is kept ≥ 0, so more disagreement, more
entropy, more lesion outside the brain or an image less like the template can only raise the score, never
lower it (on a few dozen failures an unconstrained fit gives some of them small negative weights from
chance correlations; the constraint also cross-validates better on the fit cohorts). ``C`` keeps the weights
small: :func:`choose_c` picks it from :data:`C_VALUES` by the AURC of seeded 5-fold cross-validation on the
fit cases alone. The flag threshold is the highest score that still flags :data:`FLAG_RECALL` of the fit
cohort's failures.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lesionkit.qc.score import INPUTS, QCWeights, input_values

__all__ = ["C_VALUES", "FLAG_RECALL", "FREE_SIGN", "choose_c", "fit_weights"]

#: Share of the fit cohort's failures the flag threshold must catch.
FLAG_RECALL = 0.8
#: Regularisation strengths :func:`choose_c` tries.
C_VALUES = (0.1, 0.3, 1.0, 3.0)
#: Inputs whose weight may take either sign: a small volume is a risk (missed or under-segmented lesions),
#: and so is a large one (false-positive blobs).
FREE_SIGN = ("log_volume", "empty")


def _logistic(z: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, C: float, free: np.ndarray
              ) -> tuple[float, np.ndarray]:
    """(intercept, weights) minimising the objective of the module docstring."""
    from scipy.optimize import minimize

    def objective(p: np.ndarray) -> tuple[float, np.ndarray]:
        logit = p[0] + z @ p[1:]
        loss = np.where(y, np.logaddexp(0, -logit), np.logaddexp(0, logit))
        gradient = sample_weight * (1 / (1 + np.exp(-logit)) - y)
        return (C * float(sample_weight @ loss) + 0.5 * float(p[1:] @ p[1:]),
                np.r_[C * gradient.sum(), C * z.T @ gradient + p[1:]])

    bounds = [(None, None)] + [(None, None) if f else (0.0, None) for f in free]
    result = minimize(objective, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": 10_000, "gtol": 1e-8})
    return float(result.x[0]), result.x[1:]


def _rounded(value: float) -> float:
    return float(f"{float(value):.6g}")


def _matrix(features: Sequence[Mapping[str, Any]], names: Sequence[str]) -> np.ndarray:
    rows = [input_values(f) for f in features]
    return np.array([[row[name] for name in names] for row in rows], dtype=float)


def fit_weights(
    features: Sequence[Mapping[str, Any]],
    failures: Sequence[bool],
    *,
    C: float = 1.0,
    inputs: Sequence[str] | None = None,
    flag_recall: float = FLAG_RECALL,
    fit: Mapping[str, Any] | None = None,
) -> QCWeights:
    """Fit :class:`~lesionkit.qc.score.QCWeights` on per-case ``features`` (per-case and cohort ones) and
    whether each case failed. ``inputs`` (default all of :data:`~lesionkit.qc.score.INPUTS`) that are
    undefined or constant over every case get no weight. ``fit`` is recorded with the weights; its ``id``
    is the hash of the weights themselves."""
    y = np.asarray(failures, dtype=bool)
    if len(y) != len(features) or y.all() or not y.any():
        raise ValueError("need one failure flag per case, and both failures and successes")
    names = [n for n in (inputs or INPUTS) if n in INPUTS]
    x = _matrix(features, names)
    means, scales, keep = {}, {}, []
    for j, name in enumerate(names):
        column = x[:, j]
        finite = np.isfinite(column)
        if finite.sum() < 2 or float(np.std(column[finite])) <= 1e-9 * max(1.0, float(np.abs(column[finite]).max())):
            continue
        # six significant digits, as stored: the fit standardises exactly as scoring will
        means[name], scales[name] = _rounded(column[finite].mean()), _rounded(column[finite].std())
        keep.append(j)
    z = np.zeros((len(y), len(keep)))
    for col, j in enumerate(keep):
        name = names[j]
        column = x[:, j]
        z[:, col] = np.where(np.isfinite(column), (column - means[name]) / scales[name], 0.0)
    sample_weight = np.where(y, len(y) / (2 * y.sum()), len(y) / (2 * (~y).sum()))  # "balanced"
    free = np.array([names[j] in FREE_SIGN for j in keep], dtype=bool)
    b, w = _logistic(z, y.astype(float), sample_weight, C, free)
    weights = {names[j]: round(float(v), 4) for j, v in zip(keep, w, strict=True)}
    intercept = round(b, 4)
    logits = intercept + z @ np.array([weights[names[j]] for j in keep])
    scores = 1 / (1 + np.exp(-logits))
    failed = np.sort(scores[y])[::-1]
    threshold = float(failed[max(0, math.ceil(flag_recall * len(failed)) - 1)])
    threshold = math.floor(threshold * 1000) / 1000  # rounded down: the recall holds with the rounded value
    result = QCWeights(intercept, weights, {k: v for k, v in means.items() if k in weights},
                       {k: v for k, v in scales.items() if k in weights}, threshold)
    flagged = scores >= threshold
    info = {**(fit or {}), "C": C, "class_weight": "balanced", "free_sign": list(FREE_SIGN), "others": ">= 0",
            "flag_recall": flag_recall, "cases": len(y),
            "failures": int(y.sum()), "fit_flagged_share": round(float(flagged.mean()), 4),
            "fit_failures_flagged": round(float(flagged[y].mean()), 4)}
    digest = hashlib.sha256(json.dumps(result.as_dict() | {"fit": {}}, sort_keys=True).encode()).hexdigest()[:12]
    info["id"] = f"qc-{digest}"
    return QCWeights(result.intercept, result.weights, result.means, result.scales, result.flag_threshold, info)


def choose_c(
    features: Sequence[Mapping[str, Any]],
    failures: Sequence[bool],
    dice: Sequence[float],
    *,
    c_values: Sequence[float] = C_VALUES,
    folds: int = 5,
    seed: int = 0,
) -> tuple[float, dict[str, dict[str, float | None]]]:
    """The ``C`` of :data:`C_VALUES` whose held-out scores have the lowest AURC in ``folds``-fold
    cross-validation (folds drawn with ``seed``), and every candidate's held-out AURC and failures caught at
    20 % flagged."""
    from lesionkit.qc.curves import risk_coverage
    from lesionkit.qc.score import score_case

    y = np.asarray(failures, dtype=bool)
    fold = np.random.default_rng(seed).permutation(len(y)) % folds
    results: dict[str, dict[str, float | None]] = {}
    for c in c_values:
        scores = np.zeros(len(y))
        for k in range(folds):
            train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
            weights = fit_weights([features[i] for i in train], y[train], C=c)
            scores[test] = [score_case(features[i], weights).score for i in test]
        curves = risk_coverage(scores, dice, y, n_random=10)
        results[f"{c:g}"] = {"aurc": curves["qc"]["aurc"], "caught_at_20pct": curves["qc"]["caught_at_flag_share"]}
    best = min(c_values, key=lambda c: (results[f"{c:g}"]["aurc"], c))
    return float(best), results
