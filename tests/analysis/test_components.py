import numpy as np
import pytest

from lesionkit.analysis.components import voxel_volume


def test_voxel_volume_from_affine():
    affine = np.diag([2.0, 1.5, 3.0, 1.0])
    assert voxel_volume(affine) == pytest.approx(9.0)
    rotated = affine.copy()
    c, s = np.cos(0.3), np.sin(0.3)
    rotated[:3, :3] = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ affine[:3, :3]
    assert voxel_volume(rotated) == pytest.approx(9.0)


def test_voxel_volume_is_exact_on_axis_aligned_grids():
    for size in (2.0, 3.0, 0.9375):
        assert voxel_volume(np.diag([size, size, size, 1.0])) == size**3
    assert 27 * voxel_volume(np.diag([2.0, 2.0, 2.0, 1.0])) == 216.0
