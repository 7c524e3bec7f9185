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


@pytest.mark.parametrize(
    ("key", "value"), [("loader_threads", -1), ("loader_threads", 1.5), ("time_limit_s", 0), ("time_limit_s", -5.0),
                       ("time_limit_s", float("inf")), ("time_limit_s", "10")]
)
def test_impossible_loader_and_time_settings_are_refused(key, value):
    with pytest.raises(ValueError, match=key):
        load_config(overrides={key: value})


@pytest.mark.parametrize(
    ("overrides", "match"),
    [({"clip_grad_norm": -1.0}, "clip_grad_norm"), ({"clip_grad_norm": float("nan")}, "clip_grad_norm"),
     ({"prior_jitter_mm": -1.0}, "prior_jitter_mm"), ({"prior_jitter_mm": 12.0}, "prior_jitter_mm"),
     ({"zoom_in": {"warmup_steps": -1}}, "zoom_in.warmup_steps"),
     ({"zoom_out": {"warmup_steps": 2.5}}, "zoom_out.warmup_steps")]
)
def test_impossible_clipping_and_warm_up_settings_are_refused(overrides, match):
    with pytest.raises(ValueError, match=match):
        load_config(overrides=overrides)


def test_every_preset_survives_the_toml_and_json_round_trip():
    import json
    from importlib import resources

    presets = sorted(p for p in (resources.files("lesionkit") / "model" / "presets").iterdir()
                     if p.name.endswith(".toml"))
    assert "gpu_realistic.toml" in [p.name for p in presets]
    for preset in presets:
        config = load_config(preset)
        again = load_config(overrides=json.loads(json.dumps(config.to_dict())))  # what config.json holds
        assert again == config, preset.name
    gpu = load_config(resources.files("lesionkit") / "model" / "presets" / "gpu_realistic.toml")
    assert gpu.loader_threads > 0 and gpu.amp and gpu.time_limit_s is None  # the limit comes from the command line
