import numpy as np
import pytest

from lesionkit.io import ATLAS_SHAPE
from lesionkit.model.features import block_average, input_channels, pooling_factor, upsample


def test_pooling_factor_integer_ratios_and_fallback():
    assert pooling_factor((2, 2, 2), (1, 1, 1)) == 2
    assert pooling_factor((1, 1, 1), (1, 1, 1)) == 1
    with pytest.warns(UserWarning, match="own grid"):
        assert pooling_factor((1, 1, 1), (0.9, 1.1, 2.0)) == 1


def test_block_average_is_the_mean_of_each_block_and_pads_odd_sides():
    volume = np.arange(5 * 4 * 3, dtype=np.float32).reshape(5, 4, 3)
    pooled = block_average(volume, 2)
    assert pooled.shape == (3, 2, 2)
    assert pooled[0, 0, 0] == pytest.approx(volume[:2, :2, :2].mean())
    # the odd last row is padded with its own edge values, so its block mean is that row's mean over y, z
    assert pooled[2, 1, 0] == pytest.approx(volume[4, 2:4, 0:2].mean())


def test_soft_targets_round_trip_close_to_the_fine_mask():
    # a ball pooled to 2 mm and up-sampled back crosses 0.5 near its true boundary
    grid = np.indices((40, 40, 40)).astype(np.float32)
    ball = (((grid - 19.5) ** 2).sum(0) <= 9.0**2).astype(np.float32)
    back = upsample(block_average(ball, 2), 2, ball.shape) >= 0.5
    dice = 2 * (back & (ball > 0)).sum() / (back.sum() + ball.sum())
    assert back.shape == ball.shape
    assert dice > 0.97


def test_mirror_channel_flips_left_right_and_template_needs_the_atlas_grid(rng):
    image = rng.random((6, 5, 4)).astype(np.float32)
    stacked = input_channels(image, ["t1", "mirror"])
    assert stacked.shape == (2, 6, 5, 4)
    np.testing.assert_allclose(stacked[1], stacked[0][::-1])
    with pytest.raises(ValueError, match="ATLAS grid"):
        input_channels(image, ["template"])
    with pytest.raises(ValueError, match="unknown input channels"):
        input_channels(image, ["flair"])


def test_template_channel_on_the_coarse_atlas_grid():
    coarse = tuple((n - 1) // 2 + 1 for n in ATLAS_SHAPE)
    image = np.zeros(coarse, np.float32)
    image[20:60, 20:80, 20:60] = 1.0
    channels = input_channels(image, ["t1", "template"], factor=2)
    assert channels.shape == (2, *((s + 1) // 2 for s in coarse))
    assert channels[1].std() > 0.5  # the normalised template, not a constant
