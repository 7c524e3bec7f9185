import pytest

from lesionkit.model.config import load_config


def test_inference_window_defaults_to_the_last_stage_crop():
    config = load_config(overrides={"zoom_in": {"crop": [48, 48, 48]}, "zoom_out": {"crop": [64, 80, 64]}})
    assert config.window() == [64, 80, 64]
    assert config.window("zoom_in") == [48, 48, 48]
    config.zoom_out.epochs = 0
    assert config.window() == [48, 48, 48]
    config.roi_size = [32, 32, 32]
    assert config.window() == config.window("zoom_out") == [32, 32, 32]


def test_unknown_settings_are_refused():
    with pytest.raises(ValueError, match="unknown setting"):
        load_config(overrides={"zoom_in": {"learning_rate": 1}})


@pytest.mark.parametrize(
    ("key", "value"), [("lesion_sampling", "component"), ("lesion_fraction", 1.5), ("accumulate", 0)]
)
def test_impossible_values_are_refused(key, value):
    with pytest.raises(ValueError, match=key):
        load_config(overrides={key: value})
