import numpy as np
import pytest

from lesionkit.qc.curves import is_failure, risk_coverage


def test_failure_definition():
    assert is_failure(0.49, 1000, 800) and not is_failure(0.5, 1000, 800)
    assert is_failure(0.0, 0, 501) and not is_failure(0.0, 0, 500)  # lesion-free: a false positive volume


def test_a_perfect_score_is_the_oracle_and_a_reversed_one_is_worse_than_random():
    rng = np.random.default_rng(0)
    dice = rng.uniform(0, 1, 50)
    failures = dice < 0.5
    perfect = risk_coverage(1 - dice, dice, failures)
    assert perfect["qc"]["aurc"] == perfect["oracle"]["aurc"] < perfect["random"]["aurc"]
    assert perfect["qc"]["curve"][0] == [0.0, pytest.approx(dice.mean(), abs=1e-4)]
    curve = [d for _, d in perfect["qc"]["curve"]]
    assert curve == sorted(curve)  # flagging the worst first only raises the kept mean
    reversed_ = risk_coverage(dice, dice, failures)
    assert reversed_["qc"]["aurc"] > perfect["random"]["aurc"]
    # random flags have a flat expected curve at the cohort mean, and catch about the flagged share
    assert perfect["random"]["aurc"] == pytest.approx(1 - dice.mean(), abs=0.01)
    assert perfect["random"]["caught_at_flag_share"] == pytest.approx(0.2, abs=0.03)


def test_caught_at_20_percent():
    dice = np.array([0.1, 0.2, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9])
    failures = dice < 0.5
    scores = np.array([0.9, 0.1, 0.8, 0, 0, 0, 0, 0, 0, 0])  # flags the first failure and a success
    out = risk_coverage(scores, dice, failures)
    assert out["qc"]["caught_at_flag_share"] == 0.5 and out["oracle"]["caught_at_flag_share"] == 1.0
    assert out["qc"]["kept_mean_dice_at_flag_share"] == pytest.approx((0.2 + 7 * 0.9) / 8, abs=1e-4)
    assert out["oracle"]["kept_mean_dice_at_flag_share"] == pytest.approx(0.9, abs=1e-4)
    assert out["n"] == 10 and out["failures"] == 2


def test_share_to_catch_is_the_review_load_that_catches_70_percent():
    dice = np.array([0.1, 0.2, 0.3, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9])
    failures = dice < 0.5  # 3 failures: 70 % of them needs 3 (2.1 rounded up)
    scores = np.array([0.9, 0.8, 0.1, 0.7, 0.6, 0.5, 0, 0, 0, 0])  # the third failure is ranked 6th
    out = risk_coverage(scores, dice, failures)
    assert out["qc"]["share_to_catch"] == 0.6 and out["oracle"]["share_to_catch"] == 0.3
    assert out["random"]["share_to_catch"] > out["oracle"]["share_to_catch"]
    assert risk_coverage(scores, dice, np.zeros(10, bool))["qc"]["share_to_catch"] is None


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="must be finite"):
        risk_coverage([0.1, np.nan], [0.5, 0.5], [False, False])
    with pytest.raises(ValueError, match="of one length"):
        risk_coverage([0.1], [0.5, 0.5], [False, False])


def test_the_oracle_catches_failures_first_even_behind_a_lesion_free_dice_of_zero():
    # five lesion-free cases with a small false positive (Dice 0, no failure) and two true failures (Dice 0.3)
    dice = np.array([0.0] * 5 + [0.3, 0.3] + [0.9] * 3)
    failures = np.array([False] * 5 + [True, True] + [False] * 3)
    out = risk_coverage(np.zeros(10), dice, failures)
    assert out["oracle"]["caught_at_flag_share"] == 1.0  # 2 flagged: both failures
    assert out["oracle"]["curve"][0][1] == pytest.approx(dice.mean(), abs=1e-4)
