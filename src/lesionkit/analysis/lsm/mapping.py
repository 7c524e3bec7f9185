"""One lesion–symptom mapping on a prepared lesion matrix and behaviour: statistic, p-values, correction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from lesionkit.analysis.lsm import stats
from lesionkit.analysis.lsm.design import Behavior, LesionMatrix
from lesionkit.analysis.lsm.inference import PermutationNull, corrected_p, fdr_q, permutation_null, threshold_of

__all__ = ["CORRECTIONS", "TESTS", "LSMResult", "LSMSettings", "run_mapping"]

Test = Literal["ttest", "bm", "regression", "chisq", "fisher", "svr"]
Correction = Literal["fwe", "cfwe", "fdr", "none"]
TESTS: tuple[str, ...] = ("ttest", "bm", "regression", "chisq", "fisher", "svr")
CORRECTIONS: tuple[str, ...] = ("fwe", "cfwe", "fdr", "none")


@dataclass(frozen=True)
class LSMSettings:
    """Every choice of a mapping (recorded in the provenance)."""

    test: Test = "bm"
    correction: Correction = "fwe"
    permutations: int = 1000
    seed: int = 0
    alpha: float = 0.05
    v: int = 10
    """cFWE: the v-th largest voxel statistic of each permutation (Mirman et al. 2018)."""
    two_sided: bool = False
    higher_is_worse: bool = False
    """Scores where a higher value is the deficit (flipped before testing so positive still means deficit)."""
    svr_gamma: float = 5.0
    svr_c: float = 30.0
    svr_epsilon: float = 0.1
    dtlvc: bool = True
    jobs: int = 1

    def check(self) -> None:
        """Raise ValueError for a value no analysis can use."""
        if self.test not in TESTS:
            raise ValueError(f"unknown test {self.test!r} (one of {', '.join(TESTS)})")
        if self.correction not in CORRECTIONS:
            raise ValueError(f"unknown correction {self.correction!r} (one of {', '.join(CORRECTIONS)})")
        if self.permutations < 0 or self.v < 1 or not 0 < self.alpha < 1 or self.jobs < 1:
            raise ValueError("permutations must be ≥ 0, v ≥ 1, jobs ≥ 1 and 0 < alpha < 1")
        needs = self.correction in ("fwe", "cfwe") or self.test == "svr"
        if needs and self.permutations < 1:
            raise ValueError(f"{self.test} with {self.correction} needs permutations (--permutations N, N ≥ 1)")
        if needs and int(np.floor(self.alpha * (self.permutations + 1))) < 1:
            raise ValueError(f"{self.permutations} permutations cannot reach p ≤ {self.alpha:g}: use at least "
                             f"{int(np.ceil(1 / self.alpha)) - 1}")

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class LSMResult:
    """Per-patch results of one mapping (map them onto the grid with ``matrix.to_volume``)."""

    matrix: LesionMatrix
    behavior: Behavior
    settings: LSMSettings
    statistic: np.ndarray
    p: np.ndarray
    """Uncorrected p: parametric (permutation for SVR)."""
    p_corrected: np.ndarray
    """FWE / cFWE permutation p, FDR q, or the uncorrected p with correction ``none``."""
    significant: np.ndarray
    threshold: float
    """Statistic a patch must exceed (FWE/cFWE; for FDR/none the smallest significant statistic, or inf)."""
    null: PermutationNull | None

    @property
    def significant_voxels(self) -> int:
        return int(self.matrix.patch_voxels[self.significant].sum())


def _prepared(matrix: LesionMatrix, behavior: Behavior, settings: LSMSettings) -> tuple[Callable, np.ndarray, int]:
    """The statistic function, the scores it permutes (residuals where covariates apply), and its df."""
    y = np.asarray(behavior.scores, dtype=np.float64) * (-1.0 if settings.higher_is_worse else 1.0)
    z = behavior.covariates
    patches = matrix.patches
    if settings.test == "regression":
        lesion, residual = stats.residualize(patches, z), stats.residualize(y[:, None], z)[:, 0]
        n_cov = 0 if z is None else z.shape[1]
        df = patches.shape[0] - 2 - n_cov
        return (lambda s: stats.partial_t(lesion, s, z, residualized=True)), residual, df
    if z is not None:
        if settings.test in ("chisq", "fisher"):
            raise ValueError(f"the {settings.test} test takes no covariates (use --test regression)")
        y = stats.residualize(y[:, None], z)[:, 0]  # LESYMAP's correctByLesSize="behavior"
    if settings.test == "ttest":
        return (lambda s: stats.welch_t(patches, s)), y, 0
    if settings.test == "bm":
        return (lambda s: stats.brunner_munzel(patches, s)), y, 0
    if settings.test == "chisq":
        return (lambda s: stats.signed_chi2(patches, s)), y, 0
    if settings.test == "fisher":
        return (lambda s: stats.fisher_log_p(patches, s)), y, 0
    from lesionkit.analysis.lsm.svr import svr_model

    model = svr_model(patches, matrix.patch_voxels, gamma=settings.svr_gamma, c=settings.svr_c,
                      epsilon=settings.svr_epsilon, dtlvc=settings.dtlvc)
    return model.statistic, y, 0


def _parametric(matrix: LesionMatrix, y: np.ndarray, settings: LSMSettings, df: int) -> np.ndarray | None:
    patches, two = matrix.patches, settings.two_sided
    if settings.test == "ttest":
        t, dfs = stats.welch_t(patches, y, with_df=True)
        return stats.welch_t_p(t[0], dfs[0], two)
    if settings.test == "bm":
        bm, dfs = stats.brunner_munzel(patches, y, with_df=True)
        return stats.brunner_munzel_p(bm[0], dfs[0], two)
    return None


def _p_values(statistic, matrix, y, settings, df, null) -> np.ndarray:
    p = _parametric(matrix, y, settings, df)
    if p is not None:
        return p
    if settings.test == "regression":
        return stats.partial_t_p(statistic, df, settings.two_sided)
    if settings.test == "chisq":
        return stats.chi2_p(statistic, settings.two_sided)
    if settings.test == "fisher":
        return np.power(10.0, -statistic)
    return null.uncorrected_p()  # SVR: permutation p per voxel


def run_mapping(
    matrix: LesionMatrix, behavior: Behavior, settings: LSMSettings, progress: Callable[[int], None] | None = None
) -> LSMResult:
    """Test every patch, build the permutation null (when the settings need it) and apply the correction."""
    settings.check()
    statistic_fn, y, df = _prepared(matrix, behavior, settings)
    statistic = statistic_fn(y)[0]
    null = None
    if settings.permutations:
        null = permutation_null(statistic_fn, y, statistic, matrix.patch_voxels, n_permutations=settings.permutations,
                                seed=settings.seed, v=settings.v, two_sided=settings.two_sided, jobs=settings.jobs,
                                progress=progress)
    p = _p_values(statistic, matrix, y, settings, df, null)
    magnitude = np.nan_to_num(np.abs(statistic) if settings.two_sided else statistic, nan=-np.inf)
    if settings.correction in ("fwe", "cfwe"):
        reference = null.maxima if settings.correction == "fwe" else null.vth
        p_corrected = corrected_p(statistic, reference, settings.two_sided)
        threshold = threshold_of(reference, settings.alpha)
    else:
        p_corrected = fdr_q(p, matrix.patch_voxels) if settings.correction == "fdr" else p
        threshold = float("inf")
    significant = (p_corrected <= settings.alpha) & np.isfinite(magnitude) & (magnitude > 0)
    if settings.correction in ("fdr", "none") and significant.any():
        threshold = float(magnitude[significant].min())
    return LSMResult(matrix, behavior, settings, statistic, p, p_corrected, significant, threshold, null)
