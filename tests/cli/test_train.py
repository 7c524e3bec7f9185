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
