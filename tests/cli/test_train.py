import sys
from pathlib import Path

import pytest

from lesionkit.cli import main

sys.path.insert(0, str(Path(__file__).parents[1] / "model"))
from conftest import write_cohort  # noqa: E402


def test_train_command_trains_with_flags_and_config(tmp_path):
    data = write_cohort(tmp_path / "data", 2)
    config = tmp_path / "cfg.toml"
    config.write_text('tensorboard = false\nval_fraction = 0.0\n[zoom_out]\nepochs = 0\n')
    args = ["train", str(data), "-o", str(tmp_path / "model"), "--config", str(config), "--widths", "8", "16",
            "--stem-stride", "1", "--epochs", "1", "--crop", "16", "16", "16", "--steps-per-epoch", "1",
            "--threads", "1", "--no-progress"]
    assert main(args) == 0
    assert (tmp_path / "model" / "best.pt").exists()
    assert '"widths": [\n      8,\n      16\n    ]' in (tmp_path / "model" / "config.json").read_text()


def test_loader_threads_and_time_limit_flags_reach_the_run(tmp_path):
    import json

    data = write_cohort(tmp_path / "data", 2)
    base = ["train", str(data), "--widths", "8", "16", "--stem-stride", "1", "--epochs", "3", "--zoom-out-epochs",
            "0", "--crop", "16", "16", "16", "--steps-per-epoch", "1", "--threads", "1", "--no-progress"]
    out = tmp_path / "model"
    assert main([*base, "-o", str(out), "--loader-threads", "2", "--time-limit", "0.001"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["loader_threads"] == 2 and config["time_limit_s"] == 0.001
    assert len((out / "log.csv").read_text().splitlines()) == 2  # header + the one epoch before it stopped
    for flag, value in (("--loader-threads", "-1"), ("--time-limit", "0"), ("--time-limit", "nan")):
        assert main([*base, "-o", str(tmp_path / "bad"), flag, value]) == 2, flag


def test_train_exit_codes(tmp_path):
    data = write_cohort(tmp_path / "data", 2)
    assert main(["train", str(tmp_path / "nothing"), "-o", str(tmp_path / "m")]) == 3
    assert main(["train", str(data), "-o", str(tmp_path / "m"), "--config", str(tmp_path / "no.toml")]) == 3
    bad = tmp_path / "bad.toml"
    bad.write_text("learning_rate = 1\n")
    assert main(["train", str(data), "-o", str(tmp_path / "m"), "--config", str(bad)]) == 3
    with pytest.raises(SystemExit) as exc:
        main(["train", str(data)])
    assert exc.value.code == 2


def test_train_exports_a_calibrated_half_precision_model_at_a_coarser_grid(tmp_path):
    import torch

    from lesionkit.model import load_model
    from lesionkit.model.checkpoint import read_checkpoint

    data = write_cohort(tmp_path / "data", 3, shape=(32, 32, 32))  # 2 mm voxels
    config = tmp_path / "cfg.toml"
    config.write_text("tensorboard = false\nval_fraction = 0.34\n[zoom_out]\nepochs = 0\n")
    exported = tmp_path / "shipped.pt"
    args = ["train", str(data), "-o", str(tmp_path / "model"), "--config", str(config), "--widths", "8", "16",
            "--stem-stride", "1", "--epochs", "1", "--crop", "8", "8", "8", "--steps-per-epoch", "1",
            "--spacing", "4", "--channels", "t1", "mirror", "--threads", "1", "--no-progress", "--export",
            str(exported)]
    assert main(args) == 0
    payload = read_checkpoint(exported)
    assert payload["spacing"] == [4.0, 4.0, 4.0] and payload["channels"] == ["t1", "mirror"]
    assert payload["network"]["in_channels"] == 2
    assert all(v.dtype == torch.float16 for v in payload["state_dict"].values() if v.is_floating_point())
    calibration = payload["provenance"]["calibration"]
    assert calibration["cases"] == payload["provenance"]["training_data"]["val_ids"]
    assert payload["threshold"] == calibration["threshold"]
    assert payload["min_size_mm3"] == calibration["min_size_mm3"] and calibration["val_dice"] >= calibration[
        "val_dice_at_0.5"]
    model = load_model(exported)
    assert model.spacing == (4.0, 4.0, 4.0) and model.channels == ("t1", "mirror")
