import numpy as np

from lesionkit.model.normalize import normalize_intensity


def test_zscore_is_invariant_to_scanner_scale_and_offset():
    rng = np.random.default_rng(0)
    image = np.zeros((20, 20, 20), np.float32)
    image[4:16, 4:16, 4:16] = rng.normal(100, 10, (12, 12, 12))
    a = normalize_intensity(image)
    b = normalize_intensity(image * 3.5 + 40)
    np.testing.assert_allclose(a, b, atol=1e-4)
    head = a[4:16, 4:16, 4:16]
    assert abs(head.mean()) < 0.05 and abs(head.std() - 1) < 0.05


def test_constant_image_gives_zeros():
    assert not normalize_intensity(np.full((4, 4, 4), 7.0)).any()
