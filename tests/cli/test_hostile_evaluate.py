"""``lesionkit evaluate`` on hostile input: odd folders, ambiguous files, bad outputs, interrupts."""

import json
import os

import numpy as np
import pandas as pd
import pytest

from lesionkit.cli import main
from tests.cli._hostile import (
    OUTPUT_PROBLEMS,
    SIGNALS,
    bad_output,
    files,
    interrupt_at_temporary,
    one_line,
    rgb,
    temporaries,
)
from tests.conftest import make_leftover
from tests.metrics._trees import SPACE, cube, pred_tree, save, truth_tree

MASKS = {"r001s001": cube(2, 6), "r001s002": cube(3, 8)}


def _evaluate(pred, truth, out, *extra):
    return main(["evaluate", str(pred), str(truth), "-o", str(out), "--quiet", "--bootstrap", "20", *extra])


def test_a_linked_subject_folder_is_evaluated(tmp_path, capsys):
    truth = truth_tree(tmp_path / "truth", MASKS)
    pred = pred_tree(tmp_path / "pred", {"r001s001": MASKS["r001s001"]})
    pred_tree(tmp_path / "elsewhere", {"r001s002": MASKS["r001s002"]})
    (pred / "sub-r001s002").symlink_to(tmp_path / "elsewhere" / "sub-r001s002", target_is_directory=True)
    assert _evaluate(pred, truth, tmp_path / "out") == 0
    assert "mean Dice 1.000" in capsys.readouterr().out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["missing_predictions"] == [] and summary["metrics"]["dice"]["mean"] == 1.0


def test_an_unreadable_prediction_folder_is_an_error(tmp_path, capsys, monkeypatch):
    truth = truth_tree(tmp_path / "truth", MASKS)
    pred = pred_tree(tmp_path / "pred", MASKS)
    locked = pred / "sub-r001s002"
    real_scandir = os.scandir

    def scandir(path="."):  # a folder without read permission (root reads everything, so it is simulated)
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert _evaluate(pred, truth, tmp_path / "out") == 3
    assert one_line(capsys.readouterr().err) == (
        f"lesionkit evaluate: invalid input: {locked}: cannot read this folder (Permission denied)")
    assert files(tmp_path / "out") == []


def test_two_masks_for_one_subject_are_refused_naming_both(tmp_path, capsys):
    truth = truth_tree(tmp_path / "truth", MASKS)
    pred = tmp_path / "pred"
    save(MASKS["r001s001"], pred / "sub-r001s001_mask.nii.gz")
    save(MASKS["r001s002"], pred / "r001s001_lesion.nii.gz")
    save(MASKS["r001s002"], pred / "sub-r001s002_mask.nii.gz")
    assert _evaluate(pred, truth, tmp_path / "out") == 3
    err = one_line(capsys.readouterr().err)
    assert "sub-r001s001_mask.nii.gz: second lesion mask for sub-r001s001" in err and "r001s001_lesion.nii.gz" in err
    assert files(tmp_path / "out") == []


def test_predictions_written_into_the_truth_folder_are_not_truth(tmp_path, capsys):
    """`lesionkit segment COHORT -o COHORT`, then evaluate against COHORT: a perfect prediction scores 1."""
    cohort = truth_tree(tmp_path / "cohort", MASKS)
    pred_tree(cohort, MASKS)  # the predictions, inside the cohort
    pred = pred_tree(tmp_path / "pred", MASKS)
    assert _evaluate(pred, cohort, tmp_path / "out") == 0
    rows = pd.read_csv(tmp_path / "out" / "metrics.tsv", sep="\t")
    assert rows["dice"].tolist() == [1.0, 1.0] and rows["truth_volume"].tolist() == [4**3 * 1.8, 5**3 * 1.8]
    assert _evaluate(cohort, cohort, tmp_path / "out2") == 3  # as predictions, the cohort's masks are ambiguous
    assert "sub-r001s001 is also under another site" in capsys.readouterr().err


def test_one_subject_under_two_sites_is_refused(tmp_path, capsys):
    truth = truth_tree(tmp_path / "truth", MASKS)
    truth_tree(tmp_path / "truth", {"r001s001": cube(1, 4)}, cohort="R002")
    assert _evaluate(pred_tree(tmp_path / "pred", MASKS), truth, tmp_path / "out") == 3
    err = one_line(capsys.readouterr().err)
    assert "R002/sub-r001s001" in err and "also under another site (R001" in err


@pytest.mark.parametrize("values", [(-50.0, 100.0), (0.0, 1.5), (np.nan, 0.5)])
def test_probability_maps_outside_0_1_are_refused(tmp_path, capsys, values):
    truth = truth_tree(tmp_path / "truth", MASKS)
    prob = np.where(MASKS["r001s001"] > 0, values[1], values[0]).astype(np.float32)
    pred = tmp_path / "pred"
    probseg = save(prob, pred / "sub-r001s001" / "ses-1" / "anat" /
                   f"sub-r001s001_ses-1_space-{SPACE}_label-L_desc-lesionkit_probseg.nii.gz")
    assert _evaluate(pred, truth, tmp_path / "out") == 3
    err = one_line(capsys.readouterr().err)
    assert err.startswith(f"lesionkit evaluate: invalid input: {probseg}: ")
    assert "probability map has values from" in err or "NaN" in err
    assert files(tmp_path / "out") == []


def test_an_rgb_mask_is_refused(tmp_path, capsys):
    truth = truth_tree(tmp_path / "truth", MASKS)
    pred = tmp_path / "pred"
    bad = save(rgb(MASKS["r001s001"]), pred / "sub-r001s001_mask.nii.gz")
    assert _evaluate(pred, truth, tmp_path / "out") == 3
    assert one_line(capsys.readouterr().err).startswith(
        f"lesionkit evaluate: invalid input: {bad}: voxel type [('R', 'u1'), ('G', 'u1'), ('B', 'u1')] is not")


@pytest.mark.parametrize("kind", OUTPUT_PROBLEMS)
def test_unusable_output_is_exit_2_before_any_input_is_read(tmp_path, capsys, monkeypatch, kind):
    out, reason = bad_output(kind, tmp_path, monkeypatch)
    before = files(tmp_path)
    # The inputs do not even exist: the output is checked first.
    assert _evaluate(tmp_path / "no-pred", tmp_path / "no-truth", out) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"lesionkit evaluate: cannot write to {out}: ") and reason in line
    assert files(tmp_path) == before


def test_argument_errors_go_to_stderr(tmp_path, capsys):
    assert _evaluate(tmp_path, tmp_path, tmp_path / "out", "--threshold", "nan") == 2
    captured = capsys.readouterr()
    assert captured.out == "" and one_line(captured.err).startswith("lesionkit evaluate: --jobs and --bootstrap")


def test_temporaries_of_a_killed_run_are_removed_on_start(tmp_path, capsys):
    truth = truth_tree(tmp_path / "truth", MASKS)
    pred = pred_tree(tmp_path / "pred", MASKS)
    out = tmp_path / "out"
    stale = make_leftover(out, "metrics.tsv")  # what SIGKILL leaves: the writer is gone
    assert _evaluate(pred, truth, out) == 0
    assert one_line(capsys.readouterr().err) == (
        f"lesionkit evaluate: removed 1 temporary file(s) an interrupted run left in {out}")
    assert not stale.exists() and files(out) == ["metrics.tsv", "report.html", "summary.json"]


@pytest.mark.parametrize(("signum", "code", "word"), SIGNALS)
def test_an_interrupt_while_writing_leaves_nothing(tmp_path, signum, code, word):
    truth = truth_tree(tmp_path / "truth", MASKS)
    pred = pred_tree(tmp_path / "pred", MASKS)
    out = tmp_path / "out"
    args = ["evaluate", pred, truth, "-o", out, "--quiet", "--bootstrap", "20"]
    returncode, stderr, seen = interrupt_at_temporary(args, out, signum)
    assert seen and seen[0].name.startswith(".metrics.")
    assert returncode == code and one_line(stderr) == f"lesionkit evaluate: {word}"
    assert temporaries(out) == [] and files(out) == []
