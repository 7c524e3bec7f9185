"""``lesionkit preprocess`` on hostile input: every input is checked before the first scan starts."""

import signal

import numpy as np
import pytest

from lesionkit.cli import main
from tests.cli._hostile import (
    OUTPUT_PROBLEMS,
    bad_output,
    files,
    head,
    interrupt_at_temporary,
    lesion,
    one_line,
    save,
    temporaries,
)


def _bids(root, *subjects):
    return {s: save(head(seed=i), root / f"sub-{s}" / "anat" / f"sub-{s}_T1w.nii.gz")
            for i, s in enumerate(subjects)}


def test_a_single_slice_is_refused(tmp_path, capsys):
    one = save(head()[:, :, 40:41], tmp_path / "sub-01_T1w.nii.gz")
    assert main(["preprocess", str(one), str(tmp_path / "out")]) == 3
    assert f"{one}: shape (99, 117, 1) is a slice or thin slab" in one_line(capsys.readouterr().err)
    assert files(tmp_path / "out") == []


@pytest.mark.parametrize("problem", ["truncated", "nan", "mask-grid"])
def test_one_bad_input_among_several_stops_the_run_before_the_first_scan(tmp_path, capsys, problem):
    t1 = _bids(tmp_path / "bids", "01", "02", "03")
    bad = t1["03"]
    if problem == "truncated":
        bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    elif problem == "nan":
        data = head()
        data[5, 5, 5] = np.nan
        save(data, bad)
    else:
        bad = save(lesion(shape=(99, 117, 94)), tmp_path / "bids" / "sub-03" / "anat" / "sub-03_label-L_mask.nii.gz")
    assert main(["preprocess", str(tmp_path / "bids"), str(tmp_path / "out")]) == 3
    assert one_line(capsys.readouterr().err).startswith(f"lesionkit preprocess: invalid input: {bad}: ")
    assert files(tmp_path / "out") == []


@pytest.mark.parametrize("kind", OUTPUT_PROBLEMS)
def test_unusable_output_is_exit_2_before_any_work(tmp_path, capsys, monkeypatch, kind):
    out, reason = bad_output(kind, tmp_path, monkeypatch)
    assert main(["preprocess", str(tmp_path / "no-input"), str(out)]) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"lesionkit preprocess: cannot write to {out}: ") and reason in line


def test_argument_errors_go_to_stderr(tmp_path, capsys):
    t1 = _bids(tmp_path / "bids", "01", "02")
    assert main(["preprocess", str(tmp_path / "bids"), str(tmp_path / "out"), "--mask", str(t1["01"])]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and one_line(captured.err) == "lesionkit preprocess: --mask needs exactly one input T1w"


@pytest.mark.slow
def test_sigterm_during_a_real_run_leaves_no_temporary(tmp_path):
    t1 = _bids(tmp_path / "bids", "01")["01"]
    out = tmp_path / "out"
    code, stderr, seen = interrupt_at_temporary(["preprocess", t1, out, "--no-deface"], out, signal.SIGTERM)
    assert seen and code == 143 and stderr.strip().endswith("lesionkit preprocess: terminated")
    assert temporaries(out) == []
