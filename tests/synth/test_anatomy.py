import numpy as np
import pytest

from lesionkit.io import ATLAS_SHAPE, atlas_step
from lesionkit.synth.anatomy import Tissue, grid_affine, grid_shape, head_model, territory_table


@pytest.mark.parametrize("resolution", [1, 2, 3])
def test_grids_are_the_atlas_field_of_view(resolution):
    shape, affine = grid_shape(resolution), grid_affine(resolution)
    assert atlas_step(affine, shape) == resolution  # io's independent definition of the subsampled grid
    # the last voxel centre lies within one voxel of the 1 mm grid's last centre
    last_mm = affine @ [*(n - 1 for n in shape), 1]
    np.testing.assert_array_less(grid_affine(1) @ [*(n - 1 for n in ATLAS_SHAPE), 1] - last_mm, resolution)


def test_territory_table_has_each_class_on_both_sides():
    table = territory_table()
    assert all(0 < label < 32 for label in table)  # they share a uint16 with the tissue code (label % 32)
    seen = {(cls, side) for _, cls, side in table.values()}
    assert seen == {(c, s) for c in ("cortical", "deep", "infratentorial") for s in "LR"}
    assert all(name.endswith(side) for name, _, side in table.values())


@pytest.fixture(scope="module")
def models():
    return head_model(1.0), head_model(2)


def test_head_model_labels_and_levels(models):
    one, two = models
    tissue, territory = two.labels >> 5, two.labels & 31
    assert two.t1.shape == two.labels.shape == grid_shape(2) and two.t1.dtype == np.float32
    assert tissue.max() <= Tissue.DEFACED and set(np.unique(territory)) <= {0, *territory_table()}
    assert tissue[0, 0, 0] == Tissue.AIR and two.t1[0, 0, 0] == 0
    wm = np.median(two.t1[tissue == Tissue.WM])
    assert two.csf_level < 0.5 * wm and two.wm_level == pytest.approx(one.wm_level)
    assert np.median(one.t1[(one.labels >> 5) == Tissue.WM]) == pytest.approx(one.wm_level, rel=0.05)
    # a lesion seeds in a territory: brain tissue has one, air and skull have none
    assert np.all(territory[np.isin(tissue, [Tissue.AIR, Tissue.SKULL, Tissue.SCALP])] == 0)
    assert np.mean(territory[tissue == Tissue.WM] > 0) > 0.9


def test_coarser_models_subsample_the_1mm_labels(models):
    one, two = models
    assert np.array_equal(two.labels, one.labels[::2, ::2, ::2])
    for array in (two.t1, two.labels, two.periventricular):
        assert not array.flags.writeable  # cached: callers share them
    with pytest.raises(ValueError, match="whole number of mm"):
        head_model(1.5)
