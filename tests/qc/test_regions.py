import numpy as np

from lesionkit.io import ATLAS_AFFINE, ATLAS_SHAPE
from lesionkit.qc.regions import template_regions


def _voxel(affine, mm):
    return tuple(int(round(v)) for v in (np.linalg.inv(affine) @ [*mm, 1.0])[:3])


def test_template_regions_put_the_ventricles_edge_and_outside_where_anatomy_has_them():
    regions = template_regions(ATLAS_AFFINE, ATLAS_SHAPE)
    assert regions is not None and regions.edge.shape == ATLAS_SHAPE
    # lateral ventricle bodies at about (±16, -10, 22) mm; deep white matter at (±28, -10, 30); the air corner
    for x in (-16, 16):
        assert regions.ventricles[_voxel(ATLAS_AFFINE, (x, -10, 22))]
        assert not regions.ventricles[_voxel(ATLAS_AFFINE, (2 * x - 4, -10, 30))]
    assert regions.outside[0, 0, 0] and regions.edge[0, 0, 0]
    centre = _voxel(ATLAS_AFFINE, (0, -18, 10))
    assert not regions.outside[centre] and not regions.edge[centre]
    # the edge is a band: neither everything nor nothing of the brain
    inside = ~regions.outside
    assert 0.05 < (regions.edge & inside).sum() / inside.sum() < 0.5
    assert 2e4 < regions.ventricles.sum() < 2e5  # tens of cm³, not the sulci


def test_the_2mm_grid_samples_the_1mm_regions_and_other_grids_have_none():
    affine = ATLAS_AFFINE.copy()
    affine[:3, :3] *= 2
    coarse, fine = template_regions(affine, (99, 117, 95)), template_regions(ATLAS_AFFINE, ATLAS_SHAPE)
    np.testing.assert_array_equal(coarse.ventricles, fine.ventricles[::2, ::2, ::2])
    assert template_regions(np.eye(4), (20, 20, 20)) is None
    shifted = ATLAS_AFFINE.copy()
    shifted[0, 3] += 3
    assert template_regions(shifted, ATLAS_SHAPE) is None
