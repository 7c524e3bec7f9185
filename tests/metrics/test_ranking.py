import pandas as pd
import pytest

from lesionkit.metrics.ranking import rank_submissions


def _rows(dice, vd, count, f1):
    return pd.DataFrame({"dice": dice, "volume_difference": vd, "lesion_count_difference": count, "lesion_f1": f1})


def test_ranks_by_mean_rank_with_direction_and_ties():
    results = {
        "a": _rows([0.8, 0.6], [10, 20], [0, 1], [1.0, 0.5]),  # dice 0.7, vd 15, count 0.5, f1 0.75
        "b": _rows([0.7, 0.7], [10, 20], [1, 1], [0.5, 0.5]),  # dice 0.7 (tie), vd 15 (tie), worse count and f1
        "c": _rows([0.9, 0.9], [50, 50], [3, 3], [0.2, 0.2]),  # best dice, worst elsewhere
    }
    table = rank_submissions(results)
    assert table.loc["a", "dice_rank"] == table.loc["b", "dice_rank"] == 2.5  # tie shares ranks 2 and 3
    assert table.loc["c", "dice_rank"] == 1.0
    assert table.loc["a", "volume_difference_rank"] == 1.5  # lower is better
    assert table.loc["a", "score"] == pytest.approx((2.5 + 1.5 + 1 + 1) / 4)
    assert list(table.index) == ["a", "b", "c"]
    assert table["rank"].tolist() == [1.0, 2.0, 3.0]


def test_phase_weights_decide_between_phases():
    good, bad = _rows([0.9], [1], [0], [1.0]), _rows([0.5], [9], [2], [0.4])
    phases = {"test": {"x": good, "y": bad}, "hidden": {"x": bad, "y": good}}
    equal = rank_submissions(phases, phase_weights={"test": 1, "hidden": 1})
    assert equal.loc["x", "rank"] == equal.loc["y", "rank"] == 1.5
    atlas = rank_submissions(phases, phase_weights={"test": 1, "hidden": 4})  # ATLAS: hidden phase 4×
    assert atlas.index[0] == "y"
    assert atlas.loc["y", "score"] == pytest.approx((2 * 1 + 1 * 4) / 5)
    with pytest.raises(ValueError, match="phases"):
        rank_submissions(phases, phase_weights={"test": 1})


def test_float_noise_does_not_break_a_tie():
    a = _rows([0.1, 0.2, 0.3], [1, 1, 1], [0, 0, 0], [1, 1, 1])  # mean 0.20000000000000004 in floats
    b = _rows([0.3, 0.2, 0.1], [1, 1, 1], [0, 0, 0], [1, 1, 1])  # 0.19999999999999998
    assert a["dice"].mean() != b["dice"].mean()
    table = rank_submissions({"a": a, "b": b})
    assert table["dice_rank"].tolist() == [1.5, 1.5] and table["rank"].tolist() == [1.5, 1.5]
