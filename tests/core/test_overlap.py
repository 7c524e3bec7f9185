import numpy as np
import pytest

from lesionkit.core.overlap import dice, dice_from_counts


def test_dice_and_the_empty_conventions():
    a = np.zeros((4, 4, 4), bool)
    assert dice(a, a) == 1.0  # both empty (ATLAS R2.0)
    b = a.copy()
    b[0, 0, :2] = True
    assert dice(a, b) == 0.0  # one empty
    a[0, 0, :1] = True
    assert dice(a, b) == pytest.approx(2 / 3)
    assert dice(a.astype(np.uint8) * 3, b.astype(np.int16) * -1) == pytest.approx(2 / 3)  # non-zero = lesion
    assert dice_from_counts(0, 0, 0) == 1.0 and dice_from_counts(1, 2, 4) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="shape"):
        dice(a, b[:2])
