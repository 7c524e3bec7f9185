"""``lesionkit segment`` and ``train`` on hostile input: bad scans and checkpoints, bad outputs, interrupts."""

import math

import numpy as np
import pytest
import torch

from lesionkit.cli import main
from tests.cli._hostile import (
    OUTPUT_PROBLEMS,
    SIGNALS,
    atlas_case,
    bad_output,
    files,
    interrupt_at_temporary,
    one_line,
    save,
    temporaries,
    tiny_model,
)

NATIVE = np.diag([1.2, 1.2, 1.5, 1.0])

# In the subprocess: the native path (ANTs registration, minutes) replaced by a known probability map.
FAKE_NATIVE = """
import nibabel as nib, numpy as np
import lesionkit.cli.segment as segment_cli
def _fake(model, image, tta):
    data = np.zeros(image.shape, np.float32)
    data[10:14, 10:14, 5:9] = 0.9
    return nib.Nifti1Image(data, image.affine)
segment_cli._segment_native = _fake
"""


def _t1(path, shape=(30, 34, 20)):
    return save(np.random.default_rng(0).normal(100, 10, shape).astype(np.float32), path, NATIVE)


@pytest.fixture
def model(tmp_path):
    return tiny_model(tmp_path / "tiny.pt")


def test_a_single_slice_is_refused_before_the_model_loads(tmp_path, capsys):
    one = _t1(tmp_path / "sub-01_T1w.nii.gz", (30, 34, 1))
    assert main(["segment", str(one), "-o", str(tmp_path / "out"), "--model", str(tmp_path / "no-model.pt")]) == 3
    assert one_line(capsys.readouterr().err) == (
        f"lesionkit segment: invalid input: {one}: shape (30, 34, 1) is a slice or thin slab, not a 3-D scan "
        "(at least 8 voxels along every axis are needed)")
    assert files(tmp_path / "out") == []


def test_one_corrupt_t1w_in_a_folder_stops_the_run_before_the_first_subject(tmp_path, capsys):
    atlas_case(tmp_path / "cohort", "r001s001")
    bad = atlas_case(tmp_path / "cohort", "r002s001", cohort="R002")["t1w"]
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    assert main(["segment", str(tmp_path / "cohort"), "-o", str(tmp_path / "out")]) == 3
    assert one_line(capsys.readouterr().err).startswith(f"lesionkit segment: invalid input: {bad}: cannot read NIfTI")
    assert files(tmp_path / "out") == []  # not even dataset_description.json


@pytest.mark.parametrize(
    ("change", "problem"),
    [(lambda p: p.pop("state_dict"), "it holds no network weights ('state_dict' or 'state_dicts')"),
     (lambda p: p.update(threshold=math.nan), "threshold nan is not a probability strictly between 0 and 1")],
)
def test_unusable_checkpoints_are_invalid_input(tmp_path, capsys, model, change, problem):
    payload = torch.load(model, weights_only=True)
    change(payload)
    torch.save(payload, model)
    t1 = _t1(tmp_path / "sub-01_T1w.nii.gz")
    assert main(["segment", str(t1), "-o", str(tmp_path / "out"), "--model", str(model)]) == 3
    assert one_line(capsys.readouterr().err) == (
        f"lesionkit segment: invalid input: {model}: unusable model checkpoint: {problem}")
    assert files(tmp_path / "out") == []


@pytest.mark.parametrize("flag", [["--threads", "-1"], ["--threads", "0"], ["--threshold", "nan"],
                                  ["--min-size", "-1"]])
def test_argument_errors_are_exit_2_on_stderr(tmp_path, capsys, flag):
    t1 = _t1(tmp_path / "sub-01_T1w.nii.gz")
    assert main(["segment", str(t1), "-o", str(tmp_path / "out"), *flag]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and one_line(captured.err).startswith("lesionkit segment: --")
    assert files(tmp_path / "out") == []


@pytest.mark.parametrize("kind", OUTPUT_PROBLEMS)
def test_unusable_output_is_exit_2_before_any_work(tmp_path, capsys, monkeypatch, kind):
    out, reason = bad_output(kind, tmp_path, monkeypatch)
    assert main(["segment", str(tmp_path / "no-input"), "-o", str(out)]) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"lesionkit segment: cannot write to {out}: ") and reason in line


@pytest.mark.parametrize(("signum", "code", "word"), SIGNALS)
def test_an_interrupt_while_writing_the_probability_map_leaves_no_temporary(tmp_path, model, signum, code, word):
    t1 = _t1(tmp_path / "in" / "sub-02_T1w.nii.gz")
    out = tmp_path / "out"
    args = ["segment", t1, "-o", out, "--model", model, "--threads", "1"]
    returncode, stderr, seen = interrupt_at_temporary(args, out, signum, hold="_probseg", prelude=FAKE_NATIVE)
    assert seen and "_probseg" in seen[0].name
    assert returncode == code and stderr.strip().endswith(f"lesionkit segment: {word}")
    # all that is left is run.tsv saying the subject was interrupted (the dataset description follows the
    # first finished subject)
    assert temporaries(out) == [] and files(out) == ["run.tsv"]
    assert "interrupted" in (out / "run.tsv").read_text()


def test_train_checks_its_output_and_flags_first(tmp_path, capsys, monkeypatch):
    out, reason = bad_output("file", tmp_path, monkeypatch)
    assert main(["train", str(tmp_path / "no-data"), "-o", str(out)]) == 2
    assert reason in one_line(capsys.readouterr().err)
    for flag in (["--epochs", "0"], ["--lr", "nan"], ["--seed", "-1"], ["--crop", "0", "8", "8"]):
        assert main(["train", str(tmp_path / "no-data"), "-o", str(tmp_path / "m"), *flag]) == 2
        assert one_line(capsys.readouterr().err).startswith(f"lesionkit train: {flag[0]} must be")
    config = tmp_path / "bad.toml"
    config.write_text("epochs = [")
    assert main(["train", str(tmp_path / "no-data"), "-o", str(tmp_path / "m"), "--config", str(config)]) == 3
    assert one_line(capsys.readouterr().err).startswith(f"lesionkit train: invalid input: {config}: ")
    assert not (tmp_path / "m").exists()
