"""``lesionkit analyze``, ``overlap`` and ``reliability`` on hostile input."""

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from lesionkit.cli import main
from tests.cli._hostile import OUTPUT_PROBLEMS, bad_output, files, head, lesion, one_line, rgb, save


def _masks(folder, **corners):
    return {s: save(lesion(c), folder / f"sub-{s}_mask.nii.gz") for s, c in corners.items()}


def test_overlap_follows_a_linked_subject_folder(tmp_path, capsys):
    _masks(tmp_path / "masks", r001s001=(40, 50, 40))
    _masks(tmp_path / "elsewhere" / "sub-r002s001", r002s001=(60, 50, 40))
    (tmp_path / "masks" / "sub-r002s001").symlink_to(tmp_path / "elsewhere" / "sub-r002s001")
    assert main(["overlap", str(tmp_path / "masks"), "-o", str(tmp_path / "out"), "--quiet", "--no-figure"]) == 0
    assert "overlap of 2 masks" in capsys.readouterr().out
    count = np.asanyarray(nib.load(tmp_path / "out" / "overlap_count.nii.gz").dataobj)
    assert count.sum() == 2 * 5**3


def test_several_masks_for_one_subject_are_refused_by_analyze_and_reliability(tmp_path, capsys):
    folder = tmp_path / "masks"
    first = save(lesion((40, 50, 40)), folder / "sub-r001s001_mask.nii.gz")
    second = save(lesion((60, 50, 40)), folder / "r001s001_lesion.nii.gz")
    save(lesion((50, 60, 40)), folder / "sub-r002s001_mask.nii.gz")
    other = tmp_path / "rater2"
    _masks(other, r001s001=(40, 50, 40), r002s001=(50, 60, 40))
    for args in (["analyze", str(folder), "--no-report"], ["reliability", str(folder), str(other)]):
        assert main([*args, "-o", str(tmp_path / "out"), "--quiet"]) == 3
        line = one_line(capsys.readouterr().err)
        assert f"{first}: second lesion mask for sub-r001s001 (first: {second})" in line
    assert files(tmp_path / "out") == []


def test_one_subject_under_two_sites_is_refused(tmp_path, capsys):
    save(lesion(), tmp_path / "R001" / "sub-x" / "anat" / "sub-x_mask.nii.gz")
    save(lesion((60, 50, 40)), tmp_path / "R002" / "sub-x" / "anat" / "sub-x_mask.nii.gz")
    assert main(["analyze", str(tmp_path), "-o", str(tmp_path / "out"), "--quiet", "--no-report"]) == 3
    assert "sub-x is also under another site (R001" in one_line(capsys.readouterr().err)


def test_the_same_mask_twice_is_not_two_subjects(tmp_path, capsys):
    masks = _masks(tmp_path / "m", r001s001=(40, 50, 40))
    m1 = str(masks["r001s001"])
    for args in (["overlap", m1, m1, "--no-figure"], ["analyze", m1, str(tmp_path / "m"), "--no-report"]):
        assert main([*args, "-o", str(tmp_path / "out"), "--quiet"]) == 3
        assert "is given twice" in one_line(capsys.readouterr().err)
    assert files(tmp_path / "out") == []


def test_one_rater_folder_twice_is_not_perfect_agreement(tmp_path, capsys):
    _masks(tmp_path / "a", r001s001=(40, 50, 40), r002s001=(50, 60, 40))
    (tmp_path / "same").symlink_to(tmp_path / "a")
    for second in (tmp_path / "a", tmp_path / "same"):
        assert main(["reliability", str(tmp_path / "a"), str(second), "-o", str(tmp_path / "out"), "--quiet"]) == 3
        assert "is given twice as a rater folder" in one_line(capsys.readouterr().err)
    assert files(tmp_path / "out") == []


def test_an_rgb_mask_is_refused_by_every_mask_reader(tmp_path, capsys):
    folder = tmp_path / "masks"
    bad = save(rgb(lesion()), folder / "sub-r001s001_mask.nii.gz")
    _masks(tmp_path / "b", r001s001=(40, 50, 40))
    runs = (["analyze", str(folder), "--no-report"], ["overlap", str(folder), "--no-figure"],
            ["reliability", str(folder), str(tmp_path / "b")])
    for args in runs:
        assert main([*args, "-o", str(tmp_path / "out"), "--quiet"]) == 3
        assert one_line(capsys.readouterr().err).startswith(
            f"lesionkit {args[0]}: invalid input: {bad}: voxel type [('R', 'u1'), ('G', 'u1'), ('B', 'u1')]")


def test_analyze_t1_matches_across_a_session_suffix_and_refuses_what_it_cannot_use(tmp_path, capsys):
    masks = tmp_path / "masks"
    save(lesion(), masks / "sub-r001s001" / "ses-1" / "anat" / "sub-r001s001_ses-1_label-L_mask.nii.gz")
    t1 = save(head(), tmp_path / "t1" / "sub-r001s001_T1w.nii.gz")  # no session in its name
    out = tmp_path / "out"
    assert main(["analyze", str(masks), "--t1", str(t1), "-o", str(out), "--quiet"]) == 0
    assert (out / "figures" / "sub-r001s001_ses-1_montage.png").stat().st_size > 1000
    stranger = save(head(), tmp_path / "t1" / "sub-zz9_T1w.nii.gz")
    assert main(["analyze", str(masks), "--t1", str(t1), str(stranger), "-o", str(tmp_path / "o2"), "--quiet"]) == 3
    assert f"{stranger}: this --t1 image (sub-zz9) matches no mask's subject" in one_line(capsys.readouterr().err)
    t1.write_bytes(t1.read_bytes()[:-5000])  # truncated
    assert main(["analyze", str(masks), "--t1", str(t1), "-o", str(tmp_path / "o3"), "--quiet"]) == 3
    assert f"{t1}: cannot read NIfTI data" in one_line(capsys.readouterr().err)
    assert files(tmp_path / "o2") == files(tmp_path / "o3") == []


@pytest.mark.parametrize("command", ["analyze", "overlap", "reliability"])
@pytest.mark.parametrize("kind", OUTPUT_PROBLEMS)
def test_unusable_output_is_exit_2_before_any_input_is_read(tmp_path, capsys, monkeypatch, command, kind):
    out, reason = bad_output(kind, tmp_path, monkeypatch)
    inputs = [str(tmp_path / "no-masks")] * (2 if command == "reliability" else 1)
    assert main([command, *inputs, "-o", str(out), "--quiet"]) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"lesionkit {command}: cannot write to {out}: ") and reason in line


def test_argument_errors_go_to_stderr(tmp_path, capsys):
    masks = _masks(tmp_path / "m", r001s001=(40, 50, 40))
    for args in (["analyze", str(masks["r001s001"]), "--jobs", "0"], ["overlap", str(tmp_path / "m"), "--slices", "0"],
                 ["reliability", str(tmp_path / "m")], ["analyze", str(tmp_path / "m"), "--cst-threshold", "nan"]):
        assert main([*args, "-o", str(tmp_path / "out")]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and one_line(captured.err).startswith(f"lesionkit {args[0]}: ")
    assert not (tmp_path / "out").exists()


def test_a_good_run_is_unchanged(tmp_path):
    """The same inputs, well formed: the rules above cost nothing to a normal run."""
    _masks(tmp_path / "a", r001s001=(40, 50, 40), r002s001=(50, 60, 40))
    _masks(tmp_path / "b", r001s001=(40, 50, 41), r002s001=(50, 60, 40))
    assert main(["reliability", str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(tmp_path / "out"), "--quiet"]) == 0
    pairs = pd.read_csv(tmp_path / "out" / "pairs.tsv", sep="\t")
    assert pairs["dice"].tolist() == [pytest.approx(0.8), 1.0]
