import numpy as np
import pytest

from lesionkit.analysis.tracing import merge_masks, smooth_mask, white_matter_correction


def test_merge_is_a_logical_or():
    a = np.zeros((5, 5, 5), np.uint8)
    b = np.zeros((5, 5, 5), np.uint8)
    a[1, 1, 1] = 1
    b[1, 1, 1] = b[3, 3, 3] = 1
    merged = merge_masks([a, b])
    assert merged.dtype == np.uint8 and int(merged.sum()) == 2
    with pytest.raises(ValueError, match="shape"):
        merge_masks([a, np.zeros((4, 5, 5))])


def test_smooth_removes_specks_keeps_bulk_and_uses_mm():
    mask = np.zeros((30, 30, 30), np.uint8)
    mask[10:20, 10:20, 10:20] = 1
    mask[2, 2, 2] = 1  # a lone voxel: blurred below 0.5
    smooth = smooth_mask(mask, np.eye(4))
    assert smooth[2, 2, 2] == 0 and smooth[15, 15, 15] == 1
    # a 2 mm FWHM on a 1 mm grid keeps a 10-voxel cube's volume within a few percent (corners round off)
    assert abs(int(smooth.sum()) - 1000) < 80
    # with 0.5 mm voxels the same kernel spans twice as many voxels: a 2-voxel-thin slab disappears
    slab = np.zeros((20, 20, 20), np.uint8)
    slab[5:15, 5:15, 9:11] = 1
    assert smooth_mask(slab, np.eye(4)).sum() > 0
    assert smooth_mask(slab, np.diag([0.5, 0.5, 0.5, 1.0])).sum() == 0


def test_white_matter_correction_removes_wm_like_voxels(rng):
    shape = (30, 30, 30)
    t1 = rng.normal(1.0, 0.03, shape).astype(np.float32)  # "white matter" everywhere
    wm = np.ones(shape, np.float32)
    mask = np.zeros(shape, np.uint8)
    mask[10:16, 10:16, 10:16] = 1
    t1[10:16, 10:16, 10:16] = 0.3  # hypointense lesion core
    t1[10, 10:16, 10:16] = 1.0  # one traced face is normal white matter
    corrected, band = white_matter_correction(t1, mask, wm, np.eye(4))
    assert band.centre == pytest.approx(1.0, abs=0.01)
    assert band.spread == pytest.approx(0.03, rel=0.1)
    assert band.low < 1.0 < band.high
    assert band.n_removed == 36 and int(corrected.sum()) == 216 - 36
    assert not corrected[10].any() and corrected[11:16, 10:16, 10:16].all()


def test_white_matter_correction_needs_reference_voxels():
    with pytest.raises(ValueError, match="white-matter voxels"):
        white_matter_correction(np.ones((4, 4, 4)), np.zeros((4, 4, 4)), np.zeros((4, 4, 4)), np.eye(4))
