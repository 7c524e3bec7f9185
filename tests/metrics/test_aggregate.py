import math

import numpy as np
import pandas as pd
import pytest

from lesionkit.metrics.aggregate import bootstrap_ci, micro_dice, size_quartiles, strata_table, summarize


def test_bootstrap_ci_width_matches_the_normal_theory():
    """Mean of n normal samples: the 95 % CI is about mean ± 1.96·σ/√n."""
    sigma, n = 2.0, 400
    data = np.random.default_rng(3).normal(10.0, sigma, n)
    low, high = bootstrap_ci(data, n_resamples=2000, seed=1)
    expected = 2 * 1.96 * sigma / math.sqrt(n)
    assert high - low == pytest.approx(expected, rel=0.12)
    assert low < data.mean() < high


def test_bootstrap_ci_covers_the_true_mean_about_95_percent():
    rng = np.random.default_rng(5)
    hits = 0
    for trial in range(200):
        data = rng.normal(1.0, 1.0, 60)
        low, high = bootstrap_ci(data, n_resamples=500, seed=trial)
        hits += low <= 1.0 <= high
    assert 0.88 <= hits / 200 <= 0.99


def test_bootstrap_is_seeded_and_handles_inf_and_empty():
    data = np.random.default_rng(0).random(30)
    assert bootstrap_ci(data, seed=7) == bootstrap_ci(data, seed=7)
    assert bootstrap_ci(data, seed=7) != bootstrap_ci(data, seed=8)
    low, high = bootstrap_ci([1.0, 2.0, np.inf, 3.0], seed=0)
    assert np.isfinite(low) and high == np.inf  # most resamples hold the inf case: never NaN
    assert all(math.isnan(v) for v in bootstrap_ci([]))


def test_summary_counts_inf_and_undefined_instead_of_dropping_them():
    rows = pd.DataFrame(
        {
            "dice": [0.8, 0.6, 0.0, 1.0],
            "hd": [3.0, 5.0, np.inf, 0.0],
            "tpr": [0.9, 0.7, 0.0, np.nan],
            "pred_volume": [10.0, 10.0, 0.0, 0.0],
            "truth_volume": [10.0, 20.0, 5.0, 0.0],
            "overlap_volume": [8.0, 9.0, 0.0, 0.0],
        }
    )
    summary = summarize(rows, metrics=("dice", "hd", "tpr"), n_resamples=200, strata=())
    hd = summary["metrics"]["hd"]
    assert hd["mean"] == np.inf and hd["n_inf"] == 1 and hd["inf_fraction"] == 0.25
    assert hd["finite"]["mean"] == pytest.approx(8.0 / 3) and hd["median"] == pytest.approx(4.0)
    tpr = summary["metrics"]["tpr"]
    assert tpr["n"] == 3 and tpr["n_undefined"] == 1 and tpr["mean"] == pytest.approx(1.6 / 3)
    assert summary["metrics"]["dice"]["std"] == pytest.approx(np.std([0.8, 0.6, 0.0, 1.0], ddof=1))
    assert summary["micro_dice"] == pytest.approx(2 * 17 / (20 + 35)) == micro_dice(rows)


def test_size_quartiles_and_strata():
    volumes = pd.Series([0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0])
    labels = size_quartiles(volumes)
    assert labels.tolist() == ["empty", "Q1", "Q1", "Q2", "Q2", "Q3", "Q3", "Q4", "Q4"]
    rows = pd.DataFrame({"size_quartile": labels, "dice": np.linspace(0, 1, 9), "hd95": [np.inf] + [1.0] * 8})
    table = strata_table(rows, ["size_quartile", "not_a_column"], metrics=("dice", "hd95"))
    assert set(table["value"]) == {"empty", "Q1", "Q2", "Q3", "Q4"}
    q1 = table[table["value"] == "Q1"].iloc[0]
    assert q1["n"] == 2 and q1["dice"] == pytest.approx(np.linspace(0, 1, 9)[1:3].mean())
    assert table[table["value"] == "empty"].iloc[0]["hd95_n_inf"] == 1
