import numpy as np
from scipy import ndimage as ndi

from lesionkit.synth.anatomy import grid_affine
from lesionkit.synth.deform import random_deformation, warp

SHAPE = (24, 28, 20)


def _volume(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return ndi.gaussian_filter(rng.random(SHAPE), 2.0).astype(np.float32)


def test_no_deformation_is_the_identity():
    rng = np.random.default_rng(0)
    still = random_deformation(rng, SHAPE, grid_affine(2), displacement_mm=0.0, scale=0.0, rotation_deg=0.0,
                               translation_mm=0.0)
    volume = _volume()
    np.testing.assert_allclose(warp(volume, still), volume, atol=1e-5)
    labels = (volume > volume.mean()).astype(np.uint8)
    assert np.array_equal(warp(labels, still, nearest=True), labels)
    assert still.max_displacement_mm == 0.0 and np.allclose(still.affine, np.eye(4))


def test_warp_matches_scipy_at_the_same_coordinates():
    """An independent resampler (scipy, trilinear, zeros outside) at the grid's voxel coordinates."""
    deformation = random_deformation(np.random.default_rng(1), SHAPE, grid_affine(2), displacement_mm=4.0)
    volume = _volume(1)
    coords = np.stack([(deformation.grid[..., 2 - axis] + 1.0) * (SHAPE[axis] - 1) / 2.0 for axis in range(3)])
    expected = ndi.map_coordinates(volume, coords, order=1, mode="grid-constant", cval=0.0)
    np.testing.assert_allclose(warp(volume, deformation), expected, atol=1e-5)
    assert not np.allclose(expected, volume, atol=1e-3)  # it did move


def test_a_list_is_warped_as_one_stack_and_labels_stay_labels():
    deformation = random_deformation(np.random.default_rng(2), SHAPE, grid_affine(2))
    volume = _volume(2)
    labels = np.digitize(volume, np.quantile(volume, [0.3, 0.6])).astype(np.uint8)
    stack = warp([volume, labels.astype(np.float32)], deformation)
    assert stack.shape == (2, *SHAPE)
    np.testing.assert_allclose(stack[0], warp(volume, deformation), atol=1e-6)
    nearest = warp(labels, deformation, nearest=True)
    assert nearest.dtype == np.uint8 and set(np.unique(nearest)) <= {0, 1, 2}


def test_seeded_and_bounded():
    one = random_deformation(np.random.default_rng(3), SHAPE, grid_affine(2), displacement_mm=3.0)
    again = random_deformation(np.random.default_rng(3), SHAPE, grid_affine(2), displacement_mm=3.0)
    assert np.array_equal(one.grid, again.grid) and np.array_equal(one.affine, again.affine)
    # each component is scaled to at most 1.2 × displacement_mm on the control grid (cubic upsampling may
    # overshoot a little); the length of the 3-vector is at most √3 times that
    assert 0 < one.max_displacement_mm <= np.sqrt(3) * 1.2 * 3.0 * 1.1


def test_the_fine_warp_moves_folds_on_its_own_grid_and_leaves_the_coarse_draw_alone():
    big = (64, 64, 64)  # room for several 24 mm cells
    coarse = random_deformation(np.random.default_rng(4), big, grid_affine(1), displacement_mm=0.0, scale=0.0,
                                rotation_deg=0.0, translation_mm=0.0)
    fine = random_deformation(np.random.default_rng(4), big, grid_affine(1), displacement_mm=0.0, scale=0.0,
                              rotation_deg=0.0, translation_mm=0.0, fine_mm=3.0, fine_rng=np.random.default_rng(9))
    assert coarse.max_displacement_mm == 0.0 and 1.0 < fine.max_displacement_mm <= np.sqrt(3) * 1.2 * 3.0 * 1.1
    # its own generator: the rest of the draw (here the affine) is what it is without the fine warp
    plain = random_deformation(np.random.default_rng(5), big, grid_affine(1))
    with_fine = random_deformation(np.random.default_rng(5), big, grid_affine(1), fine_mm=3.0,
                                   fine_rng=np.random.default_rng(9))
    assert np.array_equal(plain.affine, with_fine.affine) and not np.array_equal(plain.grid, with_fine.grid)
    # fine means short-range: 8 mm apart its displacement is far less alike than the 24 mm coarse field's
    smooth = random_deformation(np.random.default_rng(4), big, grid_affine(1), displacement_mm=3.0, scale=0.0,
                                rotation_deg=0.0, translation_mm=0.0)

    def alike(deformation, lag: int) -> float:  # correlation of the x displacement `lag` mm apart along x
        shift = deformation.grid[..., 2] - coarse.grid[..., 2]
        return float(np.corrcoef(shift[:-lag].ravel(), shift[lag:].ravel())[0, 1])

    assert alike(fine, 8) < alike(smooth, 8) - 0.25
    assert alike(fine, 1) > 0.8  # and still smooth from voxel to voxel
