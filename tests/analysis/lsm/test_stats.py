"""lesionkit.analysis.lsm.stats against SciPy / NumPy, per patch, on random data (1e-6)."""

import numpy as np
import pytest
from scipy import stats

from lesionkit.analysis.lsm import stats as lsm


def _data(seed: int, n: int = 36, p: int = 25, ties: bool = False):
    rng = np.random.default_rng(seed)
    lesion = rng.random((n, p)) < rng.uniform(0.2, 0.6, size=p)
    lesion[:3, :] = True  # at least 3 lesioned and 3 spared everywhere
    lesion[3:6, :] = False
    scores = rng.normal(size=n)
    if ties:
        scores = np.round(scores * 2) / 2
    return lesion, np.column_stack([scores, rng.permutation(scores), rng.permutation(scores)])


@pytest.mark.parametrize("seed", range(4))
def test_welch_t_and_p_match_scipy(seed):
    lesion, y = _data(seed)
    t, df = lsm.welch_t(lesion, y, with_df=True)
    p = lsm.welch_t_p(t, df)
    for b in range(y.shape[1]):
        for j in range(lesion.shape[1]):
            ref = stats.ttest_ind(y[~lesion[:, j], b], y[lesion[:, j], b], equal_var=False, alternative="greater")
            assert t[b, j] == pytest.approx(ref.statistic, abs=1e-6)
            assert p[b, j] == pytest.approx(ref.pvalue, abs=1e-6)


@pytest.mark.parametrize(("seed", "ties", "n"), [(0, False, 36), (1, False, 300), (2, True, 36), (3, True, 50)])
def test_brunner_munzel_matches_scipy(seed, ties, n):
    lesion, y = _data(seed, n=n, ties=ties)
    bm, df = lsm.brunner_munzel(lesion, y, with_df=True)
    two = lsm.brunner_munzel_p(bm, df, two_sided=True)
    for b in range(y.shape[1]):
        for j in range(lesion.shape[1]):
            ref = stats.brunnermunzel(y[lesion[:, j], b], y[~lesion[:, j], b])
            assert bm[b, j] == pytest.approx(ref.statistic, abs=1e-6)
            assert two[b, j] == pytest.approx(ref.pvalue, abs=1e-6)


@pytest.mark.parametrize("n_cov", [0, 1, 3])
def test_partial_t_is_the_ols_t_of_the_lesion_term(n_cov):
    lesion, y = _data(7 + n_cov)
    rng = np.random.default_rng(n_cov)
    z = rng.normal(size=(lesion.shape[0], n_cov)) if n_cov else None
    t = lsm.partial_t(lesion, y[:, 0], z)[0]
    n = lesion.shape[0]
    for j in range(lesion.shape[1]):
        design = np.column_stack([np.ones(n), lesion[:, j], *(() if z is None else z.T)])
        beta, residual, *_ = np.linalg.lstsq(design, y[:, 0], rcond=None)
        sigma2 = residual[0] / (n - design.shape[1])
        se = np.sqrt(sigma2 * np.linalg.inv(design.T @ design)[1, 1])
        assert t[j] == pytest.approx(-beta[1] / se, abs=1e-6)  # negated: positive = lower with a lesion


def test_partial_t_matches_nilearn_permuted_ols():
    from nilearn.mass_univariate import permuted_ols

    lesion, y = _data(11)
    z = np.random.default_rng(3).normal(size=(lesion.shape[0], 2))
    ours = lsm.partial_t(lesion, y[:, 0], z)[0]
    ref = permuted_ols(y[:, :1], lesion.astype(float), confounding_vars=z, model_intercept=True, n_perm=0,
                       output_type="dict", verbose=0)
    assert np.allclose(ours, -ref["t"][0], atol=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_chi_square_and_fisher_match_scipy(seed):
    lesion, _ = _data(seed, n=40)
    deficit = (np.random.default_rng(seed).random(40) < 0.4).astype(float)
    chi2 = lsm.signed_chi2(lesion, deficit)[0]
    fisher = lsm.fisher_log_p(lesion, deficit)[0]
    p = lsm.chi2_p(chi2, two_sided=True)
    for j in range(lesion.shape[1]):
        les = lesion[:, j]
        table = [[np.sum(les & (deficit == 0)), np.sum(les & (deficit == 1))],
                 [np.sum(~les & (deficit == 0)), np.sum(~les & (deficit == 1))]]
        ref = stats.chi2_contingency(table)
        assert abs(chi2[j]) == pytest.approx(ref.statistic, abs=1e-6)
        assert p[j] == pytest.approx(ref.pvalue, abs=1e-6)
        assert 10 ** -fisher[j] == pytest.approx(stats.fisher_exact(table, alternative="greater").pvalue, abs=1e-9)


def test_sign_convention_lesion_lowers_score_is_positive():
    lesion = np.zeros((20, 1), bool)
    lesion[:10] = True
    scores = np.r_[np.linspace(0, 1, 10), np.linspace(2, 3, 10)]  # lesioned score lower
    for fn in (lsm.welch_t, lsm.brunner_munzel, lsm.partial_t):
        assert fn(lesion, scores)[0, 0] > 0
    assert lsm.signed_chi2(lesion, (scores > 1.5).astype(float))[0, 0] > 0


def test_chi_square_refuses_a_non_binary_score():
    with pytest.raises(ValueError, match="binary"):
        lsm.signed_chi2(np.ones((5, 2), bool), np.arange(5.0))
