import numpy as np
import pytest

from lesionkit.analysis.location import (
    CORTEX_SHARE,
    INFRATENTORIAL_SHARE,
    anatomy,
    classify_location,
    hemisphere,
)
from lesionkit.io import ATLAS_SHAPE


def _at(maps, xyz_mm):
    ijk = np.round(np.linalg.solve(maps.affine, [*xyz_mm, 1.0])[:3]).astype(int)
    return tuple(ijk)


def test_classify_location_thresholds():
    assert classify_location(0.9, INFRATENTORIAL_SHARE) == "other"  # brainstem first, whatever the cortex
    assert classify_location(CORTEX_SHARE, 0.49) == "cortical"
    assert classify_location(CORTEX_SHARE - 0.01, 0.0) == "subcortical"
    assert classify_location(0.0, 0.0) == "subcortical"


def test_hemisphere_by_centroid_and_midline_rule():
    assert hemisphere(-0.1, 0.0) == "left"  # the centroid decides, not the majority of voxels
    assert hemisphere(3.0, 0.9) == "right"
    assert hemisphere(0.0, 0.7) == "left"
    assert hemisphere(0.0, 0.2) == "right"
    assert hemisphere(0.0, 0.5) == "midline"


def test_anatomy_at_known_mni_coordinates():
    maps = anatomy(1)
    assert maps.cortex.shape == ATLAS_SHAPE
    assert maps.infratentorial[_at(maps, (20, -70, -35))]  # right cerebellar hemisphere
    assert maps.infratentorial[_at(maps, (0, -28, -30))]  # pons
    assert not maps.infratentorial[_at(maps, (-25, -10, 30))]
    for deep in ((-25, 2, 0), (25, 2, 0), (-12, -18, 8)):  # putamen, putamen, thalamus: deep grey, not cortex
        assert not maps.cortex[_at(maps, deep)]
    assert not maps.cortex[_at(maps, (-25, -10, 30))]  # centrum semiovale (white matter)
    # cortex is a thin ribbon: most of it lies within 4 mm of a non-cortex voxel, and it is 20-40 % of the brain
    assert 0.15 < maps.cortex.sum() / (maps.territory > 0).sum() < 0.5


def test_anatomy_subsampled_grid_is_the_nearest_atlas_voxel():
    one, two = anatomy(1), anatomy(2)
    assert two.cortex.shape == (99, 117, 95)
    assert np.array_equal(two.cortex, one.cortex[::2, ::2, ::2])
    assert np.allclose(two.affine[:3, :3], 2 * np.eye(3)) and np.allclose(two.affine[:3, 3], one.affine[:3, 3])
    with pytest.raises(ValueError, match="read-only"):
        two.cortex[0, 0, 0] = True  # cached maps are read-only
