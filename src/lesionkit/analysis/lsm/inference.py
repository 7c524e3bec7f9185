"""Multiple-comparison control for voxel-wise maps: permutation FWE, continuous FWE and FDR.

* **FWE** (family-wise error by the maximum statistic; Nichols & Holmes 2002, LESYMAP's ``FWERperm``,
  NiiStat): the scores are permuted, every patch is tested again, and the largest statistic of each
  permutation is kept; a voxel is significant when its statistic is reached by at most ``alpha`` of
  those maxima. Its corrected p is ``(1 + #{max_perm ≥ stat}) / (1 + n_perm)``.
* **cFWE** (continuous FWE; Mirman et al. 2018): the same with the ``v``-th largest *voxel* statistic of
  each permutation (patches weighted by their voxel count), which tolerates ``v - 1`` false voxels.
* **FDR** (Benjamini–Hochberg) over voxels, on the parametric p-values.

The permutations are generated in one seeded stream in the calling thread, so a seed gives the same
null distribution whatever ``jobs`` is; chunks of permutations run on a thread pool (NumPy releases the
GIL in its kernels).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

__all__ = [
    "PermutationNull",
    "corrected_p",
    "fdr_q",
    "permutation_null",
    "threshold_of",
    "vth_largest",
]

StatisticFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class PermutationNull:
    """What the permutations leave: per permutation the maximum and the v-th largest voxel statistic, and per
    patch how often a permuted statistic reached the observed one (uncorrected permutation p)."""

    maxima: np.ndarray
    vth: np.ndarray
    exceed: np.ndarray
    v: int

    @property
    def n(self) -> int:
        return int(self.maxima.size)

    def uncorrected_p(self) -> np.ndarray:
        return (1.0 + self.exceed) / (1.0 + self.n)


def vth_largest(statistics: np.ndarray, weights: np.ndarray, v: int) -> np.ndarray:
    """Per row of ``statistics`` (B × P), the ``v``-th largest value when patch p counts ``weights[p]`` voxels."""
    statistics = np.atleast_2d(statistics)
    if v <= 1:
        return statistics.max(axis=1)
    # the v-th largest voxel lies among the v largest patches (each holds at least one voxel)
    k = min(v, statistics.shape[1])
    top = np.argpartition(-statistics, k - 1, axis=1)[:, :k]
    values = np.take_along_axis(statistics, top, axis=1)
    order = np.argsort(-values, axis=1)
    values = np.take_along_axis(values, order, axis=1)
    counts = np.cumsum(np.asarray(weights)[np.take_along_axis(top, order, axis=1)], axis=1)
    reached = np.argmax(counts >= v, axis=1)
    vth = values[np.arange(values.shape[0]), reached]
    return np.where(counts[:, -1] >= v, vth, -np.inf)  # fewer than v voxels tested: nothing to tolerate


def _chunk_stats(
    statistic: StatisticFn, scores: np.ndarray, observed: np.ndarray, weights: np.ndarray, v: int, two_sided: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    values = statistic(scores)
    values = np.nan_to_num(np.abs(values) if two_sided else values, nan=-np.inf)
    return values.max(axis=1), vth_largest(values, weights, v), (values >= observed).sum(axis=0)


def permutation_null(
    statistic: StatisticFn,
    scores: np.ndarray,
    observed: np.ndarray,
    weights: np.ndarray,
    *,
    n_permutations: int = 1000,
    seed: int = 0,
    v: int = 1,
    two_sided: bool = False,
    chunk: int = 16,
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
) -> PermutationNull:
    """Permute the rows of ``scores`` (N, or N × k when the rows carry residuals) and collect the null.

    ``statistic`` maps an (N × B) matrix of score vectors to (B × P) statistics; ``observed`` (P,) is the
    statistic of the unpermuted scores; ``weights`` the voxels per patch. ``progress`` gets the number of
    permutations done after each chunk.
    """
    rng = np.random.default_rng(seed)
    scores = np.asarray(scores, dtype=np.float64)
    target = np.nan_to_num(np.abs(observed) if two_sided else observed, nan=np.inf)
    sizes = [min(chunk, n_permutations - lo) for lo in range(0, n_permutations, chunk)]
    # one stream, drawn up front in chunk order: the same null for a seed whatever ``jobs`` is
    batches = [np.stack([rng.permutation(scores.shape[0]) for _ in range(size)], axis=1) for size in sizes]
    maxima, vth, exceed, done = [], [], np.zeros(target.shape, np.int64), 0

    def run(order: np.ndarray):
        return _chunk_stats(statistic, scores[order], target, weights, v, two_sided)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for top, vth_chunk, hits in pool.map(run, batches):
            maxima.append(top)
            vth.append(vth_chunk)
            exceed += hits
            done += top.size
            if progress is not None:
                progress(done)
    empty = np.zeros(0)
    return PermutationNull(np.concatenate(maxima or [empty]), np.concatenate(vth or [empty]), exceed, v)


def corrected_p(observed: np.ndarray, null: np.ndarray, two_sided: bool = False) -> np.ndarray:
    """``(1 + #{null ≥ stat}) / (1 + n)`` for every patch (FWE with the maxima, cFWE with the v-th values)."""
    values = np.nan_to_num(np.abs(observed) if two_sided else observed, nan=-np.inf)
    ranked = np.sort(null)
    at_least = ranked.size - np.searchsorted(ranked, values, side="left")
    return (1.0 + at_least) / (1.0 + ranked.size)


def threshold_of(null: np.ndarray, alpha: float) -> float:
    """The smallest statistic whose corrected p is at most ``alpha`` is above this value (inf if none can be)."""
    n = null.size
    allowed = int(np.floor(alpha * (n + 1))) - 1  # null values that may reach a significant statistic
    if allowed < 0:
        return float("inf")
    ranked = np.sort(null)[::-1]
    return float(ranked[allowed]) if allowed < n else float("-inf")


def fdr_q(p: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Benjamini–Hochberg q-values over voxels: patch ``p`` counts ``weights[p]`` voxels with the same p."""
    p = np.asarray(p, dtype=np.float64)
    weights = np.ones(p.shape) if weights is None else np.asarray(weights, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    rank = np.cumsum(weights[order])  # the voxel rank of the last voxel of each patch
    q = p[order] * rank[-1] / rank
    q = np.minimum.accumulate(q[::-1])[::-1]
    out = np.empty_like(q)
    out[order] = np.minimum(q, 1.0)
    return out
