import numpy as np
import pytest

from lesionkit.io import InvalidInputError
from lesionkit.metrics.binary import as_mask, check_spacing


def test_as_mask_rules():
    assert as_mask(np.array([0.2, 0.5, 0.51])).tolist() == [False, True, True]  # >=, as segmentation
    assert as_mask(np.array([0.3, 0.35, 0.4]), threshold=0.35).tolist() == [False, True, True]
    assert as_mask(np.array([0, -1, 3], np.int16)).tolist() == [False, True, True]
    with pytest.raises(InvalidInputError, match="infinite"):
        as_mask(np.array([0.0, np.inf]))
    with pytest.raises(InvalidInputError, match="dtype"):
        as_mask(np.array(["a"]))
    assert check_spacing(2.0, 3) == (2.0, 2.0, 2.0)
    with pytest.raises(InvalidInputError):
        check_spacing((1.0, 1.0), 3)
