"""``lesionkit montage`` on hostile input: a mask off its T1w's grid, RGB masks, unusable output files."""

import pytest

from lesionkit.cli import main
from tests.cli._hostile import (
    AFFINE2,
    OUTPUT_PROBLEMS,
    atlas_case,
    bad_output,
    files,
    head,
    lesion,
    one_line,
    rgb,
    save,
)


def test_a_mask_1_mm_off_its_t1w_is_refused(tmp_path, capsys):
    paths = atlas_case(tmp_path / "cohort", "r001s001")
    shifted = AFFINE2.copy()
    shifted[0, 3] += 1.0  # same shape, one millimetre to the side
    save(lesion(), paths["mask"], shifted)
    assert main(["montage", str(tmp_path / "cohort"), "-o", str(tmp_path / "m.png")]) == 3
    assert one_line(capsys.readouterr().err) == (
        f"lesionkit montage: invalid input: {paths['mask']}: affine differs from that of {paths['t1w']} by up to 1 mm "
        "(tolerance 0.001)")
    assert [f for f in files(tmp_path) if not f.startswith("cohort/")] == []  # no m.png, no temporary


def test_an_rgb_mask_is_refused(tmp_path, capsys):
    paths = atlas_case(tmp_path / "cohort", "r001s001")
    save(rgb(lesion()), paths["mask"])
    assert main(["montage", str(tmp_path / "cohort"), "-o", str(tmp_path / "m.png")]) == 3
    assert "is not a scalar intensity" in one_line(capsys.readouterr().err)


@pytest.mark.parametrize("kind", [k for k in OUTPUT_PROBLEMS if k != "file"] + ["no-suffix", "folder"])
def test_unusable_output_is_exit_2_before_any_input_is_read(tmp_path, capsys, monkeypatch, kind):
    if kind == "no-suffix":
        out, reason = tmp_path / "montage.txt", "the file name must end in one of .png"
    elif kind == "folder":
        (tmp_path / "figure.png").mkdir()
        out, reason = tmp_path / "figure.png", "it is a folder, expected a file name"
    else:
        out, reason = bad_output(kind, tmp_path, monkeypatch)
        out = out.with_name(out.name[:240] + ".png") if kind != "under-a-file" else out / "m.png"
    assert main(["montage", str(tmp_path / "no-cohort"), "-o", str(out)]) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"lesionkit montage: cannot write to {out}: ") and reason.split(" (")[0] in line


def test_a_good_montage_still_draws(tmp_path):
    atlas_case(tmp_path / "cohort", "r001s001")
    save(head(1), next((tmp_path / "cohort").rglob("*_T1w.nii.gz")))
    assert main(["montage", str(tmp_path / "cohort"), "-o", str(tmp_path / "m.png")]) == 0
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG" and files(tmp_path).count("m.png") == 1
