import numpy as np

from lesionkit.model.sampling import crop_slices, extract_crop, round_up_crop, shift_slices


def test_round_up_crop():
    assert round_up_crop([144, 172, 168], 8) == (144, 176, 168)
    assert round_up_crop([64, 64, 64], 16) == (64, 64, 64)


def test_uniform_crops_stay_inside_volume():
    rng = np.random.default_rng(0)
    for _ in range(50):
        slices = crop_slices((30, 40, 50), (16, 16, 16), rng)
        assert all(0 <= s.start and s.stop <= n for s, n in zip(slices, (30, 40, 50), strict=True))


def test_lesion_aware_crops_contain_the_lesion():
    rng = np.random.default_rng(1)
    lesion = np.array([[3, 35, 45]])
    hits = sum(
        all(s.start <= c < s.stop for s, c in zip(crop_slices((40, 40, 50), (16, 16, 16), rng, lesion, 1.0), lesion[0],
                                                    strict=True))
        for _ in range(30)
    )
    assert hits == 30
    uniform = sum(
        all(s.start <= c < s.stop for s, c in zip(crop_slices((40, 40, 50), (16, 16, 16), rng, lesion, 0.0), lesion[0],
                                                    strict=True))
        for _ in range(30)
    )
    assert uniform < 30


def test_extract_crop_pads_small_volumes():
    volume = np.ones((5, 20, 20), np.float32)
    slices = crop_slices(volume.shape, (8, 8, 8), np.random.default_rng(0))
    crop = extract_crop(volume, slices, (8, 8, 8), fill=-1)
    assert crop.shape == (8, 8, 8)
    assert (crop[5:] == -1).all() and (crop[:5] == 1).all()


def test_lesion_sampling_gives_a_small_lesion_as_many_crops_as_a_large_one():
    big = np.argwhere(np.ones((10, 10, 10), bool)) + 2  # 1000 voxels near the origin
    small = np.array([[90, 90, 90]])  # one voxel in the far corner
    voxels, bounds = np.concatenate([big, small]), np.array([0, 1000, 1001])
    shape, crop = (100, 100, 100), (16, 16, 16)

    def share_on_small(lesion_bounds):
        rng = np.random.default_rng(3)
        crops = [crop_slices(shape, crop, rng, voxels, 1.0, lesion_bounds) for _ in range(400)]
        return np.mean([all(s.start <= c < s.stop for s, c in zip(sl, small[0], strict=True)) for sl in crops])

    assert 0.4 < share_on_small(bounds) < 0.6  # each lesion equally likely
    assert share_on_small(None) < 0.01  # by voxel: 1 in 1001


def test_shifted_slices_move_by_the_offset_and_stop_at_the_volume_edge():
    slices = (slice(2, 10), slice(0, 8), slice(12, 20))
    assert shift_slices(slices, (30, 30, 20), (3, 0, 0)) == (slice(5, 13), slice(0, 8), slice(12, 20))
    # axis 1 cannot go below 0, axis 2 not past 20: those moves are cut short
    assert shift_slices(slices, (30, 30, 20), (-5, -4, 4)) == (slice(0, 8), slice(0, 8), slice(12, 20))
