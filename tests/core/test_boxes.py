import numpy as np
import pytest

from lesionkit.core.boxes import bounding_box, union_box


def _expected(mask: np.ndarray) -> tuple[slice, ...]:
    return tuple(slice(int(a.min()), int(a.max()) + 1) for a in np.nonzero(mask))


@pytest.mark.parametrize("dtype", [bool, np.uint8, np.uint16, np.int8, np.int16, np.float32])
def test_bounding_box_matches_nonzero(rng, dtype):
    for _ in range(10):
        mask = np.zeros((37, 23, 19), dtype)
        n = int(rng.integers(1, 5))
        idx = tuple(rng.integers(0, s, n) for s in mask.shape)
        mask[idx] = 1 if dtype is bool else rng.integers(1, 100, n).astype(dtype)
        if np.dtype(dtype).kind in "if":
            mask[idx[0][0], idx[1][0], idx[2][0]] = -3  # negative values are lesion too
        assert bounding_box(mask) == _expected(mask)
        assert np.count_nonzero(mask[bounding_box(mask)]) == np.count_nonzero(mask)  # usable as an index
    assert bounding_box(np.zeros((5, 5, 5), dtype)) is None


def test_bounding_box_of_strided_fortran_and_low_dimensional_arrays(rng):
    mask = np.zeros((12, 10), np.uint8)
    mask[3, 7] = mask[9, 2] = 255
    assert bounding_box(mask) == (slice(3, 10), slice(2, 8))
    assert bounding_box(mask.T) == (slice(2, 8), slice(3, 10))
    assert bounding_box(np.array([0, 0, 1, 0, 1, 0])) == (slice(2, 5),)
    volume = np.asfortranarray(rng.random((30, 20, 10)) > 0.999)  # nibabel's layout
    assert bounding_box(volume) == _expected(volume)
    assert bounding_box(np.zeros((0, 4), bool)) is None


def test_bounding_box_walks_back_to_the_last_plane():
    mask = np.zeros((40, 6, 6), bool)
    mask[0, 2, 2] = mask[21, 5, 0] = True  # the last plane lies beyond the first 8-plane step from the end
    assert bounding_box(mask) == (slice(0, 22), slice(2, 6), slice(0, 3))


def test_union_box():
    a, b = (slice(2, 5), slice(0, 3)), (slice(4, 9), slice(1, 2))
    assert union_box(a, b) == (slice(2, 9), slice(0, 3))
    assert union_box(None, b) == b and union_box(a, None) == a and union_box(None, None) is None


def test_a_padded_box_grows_on_every_side_and_stops_at_the_array_edge():
    mask = np.zeros((10, 12, 8), bool)
    mask[1, 5:7, 3] = True
    assert bounding_box(mask, pad=2) == (slice(0, 4), slice(3, 9), slice(1, 6))
    assert bounding_box(np.asfortranarray(mask), pad=2) == bounding_box(mask, pad=2)
    assert bounding_box(np.zeros((4, 4), bool), pad=3) is None
