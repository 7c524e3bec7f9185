import numpy as np
import pytest

from lesionkit.io import InvalidInputError
from lesionkit.metrics.binary import as_mask, bounding_box, check_spacing


@pytest.mark.parametrize("dtype", [bool, np.uint8, np.uint16, np.int8, np.int16, np.float32])
def test_bounding_box_matches_nonzero(rng, dtype):
    for _ in range(10):
        mask = np.zeros((37, 23, 19), dtype)
        n = int(rng.integers(1, 5))
        idx = tuple(rng.integers(0, s, n) for s in mask.shape)
        mask[idx] = 1 if dtype is bool else rng.integers(1, 100, n).astype(dtype)
        if np.dtype(dtype).kind in "if":
            mask[idx[0][0], idx[1][0], idx[2][0]] = -3  # negative values are lesion too
        nz = np.nonzero(mask)
        assert bounding_box(mask) == tuple((int(a.min()), int(a.max()) + 1) for a in nz)
    assert bounding_box(np.zeros((5, 5, 5), dtype)) is None


def test_bounding_box_of_strided_and_low_dimensional_arrays():
    mask = np.zeros((12, 10), np.uint8)
    mask[3, 7] = mask[9, 2] = 255
    assert bounding_box(mask) == ((3, 10), (2, 8))
    assert bounding_box(mask.T) == ((2, 8), (3, 10))
    assert bounding_box(np.array([0, 0, 1, 0, 1, 0])) == ((2, 5),)


def test_as_mask_rules():
    assert as_mask(np.array([0.2, 0.5, 0.51])).tolist() == [False, False, True]
    assert as_mask(np.array([0, -1, 3], np.int16)).tolist() == [False, True, True]
    with pytest.raises(InvalidInputError, match="infinite"):
        as_mask(np.array([0.0, np.inf]))
    with pytest.raises(InvalidInputError, match="dtype"):
        as_mask(np.array(["a"]))
    assert check_spacing(2.0, 3) == (2.0, 2.0, 2.0)
    with pytest.raises(InvalidInputError):
        check_spacing((1.0, 1.0), 3)
