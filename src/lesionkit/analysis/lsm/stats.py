"""Voxel-wise tests of lesion–symptom mapping, vectorised over patches and score vectors.

Every test takes the lesion matrix ``lesion`` (subjects × patches, 0/1) and a score matrix ``scores``
(subjects × B; B score vectors, e.g. B permutations of one score) and returns a statistic of shape
(B, patches), all patches and all score vectors at once (matrix products, cumulative sums; no loop over
voxels). **Sign convention** (LESYMAP's): a *positive* statistic means the lesioned subjects score
*lower* than the spared ones (a deficit when low scores are bad), so one-sided tests look at the upper tail.

* :func:`welch_t` — Welch's unequal-variance t (``scipy.stats.ttest_ind(spared, lesioned, equal_var=False)``).
* :func:`brunner_munzel` — the Brunner–Munzel statistic (``scipy.stats.brunnermunzel(lesioned, spared)``,
  LESYMAP's ``BMfast``, MRIcron/NPM's test), computed from *placements*: the BM variances are the sample
  variances of each subject's count of other-group subjects with a lower score (ties count one half), and
  those counts are one cumulative sum of the lesion matrix in score order.
* :func:`partial_t` — the t of the lesion term in ``score ~ lesion + covariates`` (OLS), from the partial
  correlation of the residualised score and lesion status (the t of ``numpy.linalg.lstsq`` / statsmodels).
* :func:`signed_chi2` — Pearson's chi-square with Yates' correction on the 2×2 table lesioned × deficit
  (``scipy.stats.chi2_contingency``), signed by the direction of the association.
* :func:`fisher_log_p` — ``-log10`` of the one-sided Fisher exact p (``scipy.stats.fisher_exact``).

Each has a ``*_p`` companion mapping statistics to parametric p-values (one-sided, or two-sided).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = [
    "brunner_munzel",
    "brunner_munzel_p",
    "chi2_p",
    "fisher_log_p",
    "partial_t",
    "partial_t_p",
    "residualize",
    "signed_chi2",
    "welch_t",
    "welch_t_p",
]

_BLOCK = 8192  # patches per block of the Brunner–Munzel cumulative sums (cache-sized)


def _columns(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    return scores[:, None] if scores.ndim == 1 else scores


def _group_sums(lesion: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, ...]:
    """Counts, sums and centred sums of squares of the lesioned (l) and spared (s) groups, (B, P) each."""
    lesion = np.asarray(lesion, dtype=np.float64)
    y = _columns(scores)
    y = y - y.mean(axis=0)  # centring keeps the sums of squares accurate
    n_l = lesion.sum(axis=0)[None, :]
    n_s = lesion.shape[0] - n_l
    sum_l, sq_l = (y.T @ lesion), ((y * y).T @ lesion)
    sum_s, sq_s = y.sum(axis=0)[:, None] - sum_l, (y * y).sum(axis=0)[:, None] - sq_l
    return n_l, n_s, sum_l, sum_s, sq_l - sum_l**2 / n_l, sq_s - sum_s**2 / n_s


def welch_t(lesion: np.ndarray, scores: np.ndarray, *, with_df: bool = False):
    """Welch's t, spared minus lesioned mean, for every patch and score column: (B, P) [and its df]."""
    with np.errstate(divide="ignore", invalid="ignore"):
        n_l, n_s, sum_l, sum_s, ss_l, ss_s = _group_sums(lesion, scores)
        a, b = ss_s / (n_s - 1) / n_s, ss_l / (n_l - 1) / n_l
        t = (sum_s / n_s - sum_l / n_l) / np.sqrt(a + b)
        if not with_df:
            return t
        df = (a + b) ** 2 / (a**2 / (n_s - 1) + b**2 / (n_l - 1))
    return t, df


def welch_t_p(t: np.ndarray, df: np.ndarray, two_sided: bool = False) -> np.ndarray:
    """p-values of Welch's t (Student's t with the Welch–Satterthwaite df)."""
    return 2 * stats.t.sf(np.abs(t), df) if two_sided else stats.t.sf(t, df)


def _tie_bounds(sorted_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each position of the sorted scores, the first position of its tie group and one past its last."""
    n = sorted_scores.size
    new = np.r_[True, sorted_scores[1:] != sorted_scores[:-1]]
    starts = np.flatnonzero(new)
    stops = np.r_[starts[1:], n]
    group = np.cumsum(new) - 1
    return starts[group], stops[group]


def _bm_from_sums(n: int, n_l, sq, sqq, sr, srr, with_df: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """BM statistic and df from the placement sums of the spared (``sq``, ``sqq``) and lesioned (``sr``, ``srr``)."""
    n_s = n - n_l
    with np.errstate(divide="ignore", invalid="ignore"):
        v_s = (sqq - sq**2 / n_s) / (n_s - 1)
        v_l = (srr - sr**2 / n_l) / (n_l - 1)
        mean_s = (n_s + 1) / 2 + sq / n_s  # mean overall rank of the spared
        mean_l = (n_l + 1) / 2 + sr / n_l
        spread = n_s * v_s + n_l * v_l
        statistic = n_s * n_l * (mean_s - mean_l) / (n_s + n_l) / np.sqrt(spread)
        if not with_df:
            return statistic, None
        df = spread**2 / ((n_s * v_s) ** 2 / (n_s - 1) + (n_l * v_l) ** 2 / (n_l - 1))
    return statistic, df


def _sum_squared_cumsum(lesion: np.ndarray, orders: np.ndarray) -> np.ndarray:
    """Σ_k (lesioned at positions ≤ k)² for each patch, in the subject order of each column of ``orders``.

    A running sum over positions, one row gather per position and block of patches, so nothing larger than
    (B × block) is written; float32 while every value is an integer below 2**24 (exact), float64 beyond.
    """
    n, n_p = lesion.shape
    work = np.float32 if n**3 < 2**24 else np.float64
    out = np.empty((orders.shape[1], n_p))
    for lo in range(0, n_p, _BLOCK):
        block = np.ascontiguousarray(lesion[:, lo:lo + _BLOCK], dtype=work)
        running = np.zeros((orders.shape[1], block.shape[1]), work)
        total, row = np.zeros_like(running), np.empty_like(running)
        for k in range(n):
            np.take(block, orders[k], axis=0, out=row)
            running += row
            np.multiply(running, running, out=row)
            total += row
        out[:, lo:lo + _BLOCK] = total
    return out


def _bm_no_ties(lesion: np.ndarray, y: np.ndarray, with_df: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """BM for scores without ties: all sums but one are matrix products of the lesion matrix with rank vectors.

    In score order (position k = rank - 1), C_k = lesioned subjects below k. Spared placements are C_k and
    lesioned placements k - C_k; their sums follow from Σ C_k, Σ k·C_k and Σ C_k² plus closed forms for the
    sums over the other group (the j-th lesioned subject has j - 1 lesioned below it). Only Σ C_k² needs the
    cumulative sum, done in float32 while every partial sum is an integer below 2**24 (exact), float64 beyond.
    """
    n = lesion.shape[0]
    ranks = np.argsort(np.argsort(y, axis=0, kind="stable"), axis=0).astype(np.float64)  # positions 0..n-1
    dense = lesion.astype(np.float64)
    n_l = dense.sum(axis=0)[None, :]
    k1 = ranks.T @ dense  # Σ over lesioned of k
    s3 = (n * (n - 1) / 2 - ranks * (ranks + 1) / 2).T @ dense  # Σ_k k·C_k = Σ_i L_i Σ_{k>i} k
    s1 = (n - 1) * n_l - k1  # Σ_k C_k = Σ_i L_i (n - 1 - i)
    s2 = _sum_squared_cumsum(lesion, np.argsort(y, axis=0, kind="stable"))
    s2 -= n_l**2
    t1, n_s = n_l * (n_l - 1) / 2, n - n_l
    sum_k2 = (n - 1) * n * (2 * n - 1) / 6
    sq, sqq = s1 - t1, s2 - (n_l - 1) * n_l * (2 * n_l - 1) / 6
    sr, srr = k1 - t1, sum_k2 - 2 * s3 + s2 - (n_s - 1) * n_s * (2 * n_s - 1) / 6
    return _bm_from_sums(n, n_l, sq, sqq, sr, srr, with_df)


def _bm_ties(lesion: np.ndarray, y: np.ndarray, with_df: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """BM with tied scores: placements count ties one half, from the cumulative sum at the tie bounds."""
    n = lesion.shape[0]
    out, dfs = np.empty((y.shape[1], lesion.shape[1])), np.empty((y.shape[1], lesion.shape[1]))
    for b in range(y.shape[1]):
        order = np.argsort(y[:, b], kind="stable")
        start, stop = _tie_bounds(y[order, b])
        for lo in range(0, lesion.shape[1], _BLOCK):
            block = lesion[order, lo:lo + _BLOCK].astype(np.int64)
            below = np.zeros((n + 1, block.shape[1]), np.int64)
            np.cumsum(block, axis=0, out=below[1:])
            q2 = below[start] + below[stop]  # twice each placement among the lesioned
            r2 = (start + stop)[:, None] - q2  # twice each placement among the spared
            spared = 1 - block
            sums = [(w * v).sum(axis=0) / d for w, v, d in
                    ((spared, q2, 2), (spared, q2 * q2, 4), (block, r2, 2), (block, r2 * r2, 4))]
            n_l = block.sum(axis=0).astype(np.float64)
            out[b, lo:lo + _BLOCK], dfs[b, lo:lo + _BLOCK] = _bm_from_sums(n, n_l, *sums)
    return out, dfs


def brunner_munzel(lesion: np.ndarray, scores: np.ndarray, *, with_df: bool = False):
    """Brunner–Munzel statistic for every patch and score column, (B, P) [and its df].

    Equal to ``scipy.stats.brunnermunzel(lesioned, spared).statistic`` (positive: the lesioned rank lower).
    Without tied scores the cost per score column is a few matrix products and one cumulative sum of the
    lesion matrix in score order; tied scores take a slower exact path.
    """
    lesion = np.asarray(lesion)
    y = _columns(scores)
    tied = np.unique(y[:, 0]).size < y.shape[0]  # columns are permutations of one score, or share its ties
    statistic, df = (_bm_ties if tied else _bm_no_ties)(lesion, y, with_df)
    return (statistic, df) if with_df else statistic


def brunner_munzel_p(statistic: np.ndarray, df: np.ndarray, two_sided: bool = False) -> np.ndarray:
    """p-values of the BM statistic (t distribution with the BM df; infinite df is the normal)."""
    df = np.where(np.isfinite(df), df, np.finfo(float).max)
    return 2 * stats.t.sf(np.abs(statistic), df) if two_sided else stats.t.sf(statistic, df)


def residualize(values: np.ndarray, covariates: np.ndarray | None) -> np.ndarray:
    """``values`` (N × k) minus their least-squares fit on an intercept and ``covariates`` (N × c)."""
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[0]
    design = np.ones((n, 1)) if covariates is None else np.column_stack([np.ones(n), covariates])
    q, _ = np.linalg.qr(design)
    return values - q @ (q.T @ values)


def partial_t(
    lesion: np.ndarray, scores: np.ndarray, covariates: np.ndarray | None = None, *, residualized: bool = False
) -> np.ndarray:
    """t of the lesion term of ``score ~ 1 + lesion + covariates``, negated (positive = lower with lesion).

    From the partial correlation r of residualised lesion and score: ``t = r·sqrt(df / (1 - r²))``,
    ``df = N - 2 - c``. With ``residualized`` the inputs are already residuals (the permutation loop
    residualises once and permutes the score residuals, as ``nilearn.mass_univariate.permuted_ols`` does).
    """
    y = _columns(scores)
    n_cov = 0 if covariates is None else np.atleast_2d(np.asarray(covariates).T).shape[0]
    if not residualized:
        lesion, y = residualize(lesion, covariates), residualize(y, covariates)
    df = lesion.shape[0] - 2 - n_cov
    with np.errstate(divide="ignore", invalid="ignore"):
        lesion = lesion / np.linalg.norm(lesion, axis=0)
        y = y / np.linalg.norm(y, axis=0)
        r = np.clip(y.T @ lesion, -1.0, 1.0)
        return -r * np.sqrt(df / (1.0 - r * r))


def partial_t_p(t: np.ndarray, df: int, two_sided: bool = False) -> np.ndarray:
    """p-values of :func:`partial_t` (Student's t with ``N - 2 - covariates`` df)."""
    return 2 * stats.t.sf(np.abs(t), df) if two_sided else stats.t.sf(t, df)


def _tables(lesion: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, ...]:
    """2×2 counts per patch and score column: lesioned-with-deficit, lesioned, with deficit, total.

    A *deficit* is the lower of the two score values (consistent with the sign convention).
    """
    y = _columns(scores)
    values = np.unique(y)
    if values.size != 2:
        raise ValueError(f"a chi-square/Fisher test needs a binary score (two values), got {values.size}")
    deficit = (y == values[0]).astype(np.float64)
    lesion = np.asarray(lesion, dtype=np.float64)
    both = deficit.T @ lesion
    n_l = lesion.sum(axis=0)[None, :]
    n_d = deficit.sum(axis=0)[:, None]
    return both, n_l, n_d, float(lesion.shape[0])


def signed_chi2(lesion: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Yates-corrected chi-square of lesioned × deficit, positive when deficits gather in the lesioned."""
    a, n_l, n_d, n = _tables(lesion, scores)
    diff = a - n_l * n_d / n  # observed − expected, the same magnitude in all four cells of a 2×2 table
    adjusted = np.maximum(np.abs(diff) - 0.5, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = adjusted**2 * n**3 / (n_l * (n - n_l) * n_d * (n - n_d))
    return np.sign(diff) * np.nan_to_num(chi2)


def chi2_p(statistic: np.ndarray, two_sided: bool = False) -> np.ndarray:
    """p of the signed chi-square (1 df): two-sided as chi2_contingency, or one-sided (half, right direction)."""
    p = stats.chi2.sf(np.abs(statistic), 1)
    return p if two_sided else np.where(statistic > 0, p / 2, 1 - p / 2)


def fisher_log_p(lesion: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``-log10`` of Fisher's one-sided exact p that deficits are more frequent among the lesioned."""
    a, n_l, n_d, n = _tables(lesion, scores)
    p = stats.hypergeom.sf(a - 1, n, n_d, n_l)
    return -np.log10(np.clip(p, np.finfo(float).tiny, 1.0))

