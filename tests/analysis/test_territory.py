import numpy as np
import pytest

from lesionkit.analysis.territory import majority_territory, territory_shares

NAMES = {1: "ACAL", 2: "ACAR", 3: "MCAFL"}


def test_shares_sum_to_one_and_count_unlabelled_as_none():
    values = np.array([1, 1, 1, 3, 0, 7])  # 7 is not a named territory
    shares = territory_shares(values, NAMES)
    assert shares["ACAL"] == pytest.approx(3 / 6)
    assert shares["MCAFL"] == pytest.approx(1 / 6)
    assert shares["ACAR"] == 0.0
    assert shares["none"] == pytest.approx(2 / 6)
    assert sum(shares.values()) == pytest.approx(1.0)
    assert majority_territory(shares) == "ACAL"


def test_majority_ignores_none_and_handles_empty():
    shares = territory_shares(np.array([0, 0, 0, 2]), NAMES)
    assert majority_territory(shares) == "ACAR"  # a labelled minority beats unlabelled voxels
    empty = territory_shares(np.array([], dtype=np.uint8), NAMES)
    assert set(empty.values()) == {0.0}
    assert majority_territory(empty) == "none"
