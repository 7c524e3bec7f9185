import numpy as np

from lesionkit.synth.fields import smooth_noise, upsample


def test_upsample_aligns_corners_and_follows_a_linear_field():
    coarse = np.add.outer(np.add.outer(np.arange(3.0), 2 * np.arange(4.0)), 3 * np.arange(5.0))  # linear in i, j, k
    out = upsample(coarse.astype(np.float32), (9, 13, 17))
    axes = [np.linspace(0, n - 1, m) for n, m in zip(coarse.shape, (9, 13, 17), strict=True)]
    i, j, k = np.meshgrid(*axes, indexing="ij")
    plane = i + 2 * j + 3 * k  # independent: the same plane sampled finer
    corners = (slice(None, None, 8), slice(None, None, 12), slice(None, None, 16))
    np.testing.assert_allclose(out[corners], plane[corners], atol=1e-4)  # corners aligned
    # the cubic pre-zoom (edges held by "nearest") bends the plane a little near the faces only
    assert np.abs(out - plane).max() < 0.03 * np.ptp(plane)
    assert all((np.diff(out, axis=a) > 0).all() for a in range(3))  # still increasing along every axis
    stack = upsample(np.stack([coarse, -coarse]).astype(np.float32), (9, 13, 17))
    assert stack.shape == (2, 9, 13, 17)
    np.testing.assert_allclose(stack[1], -stack[0], atol=1e-5)


def test_smooth_noise_is_standardised_smooth_and_seeded():
    field = smooth_noise(np.random.default_rng(0), (40, 30, 20), cell=8.0)
    assert field.shape == (40, 30, 20)
    assert abs(field.mean()) < 1e-5 and abs(field.std() - 1.0) < 1e-4
    assert np.abs(np.diff(field, axis=0)).mean() < 0.3 * np.abs(field).mean()  # neighbours are alike: smooth
    np.testing.assert_array_equal(field, smooth_noise(np.random.default_rng(0), (40, 30, 20), cell=8.0))
