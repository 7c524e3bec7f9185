import nibabel as nib
import numpy as np
import pytest

from lesionkit.cli import main
from tests.metrics._trees import cube, save, truth_tree


def _cohort(tmp_path):
    return truth_tree(tmp_path / "atlas", {"r001s001": cube(2, 6), "r001s002": cube(3, 8), "r001s003": cube(0, 0)})


def test_overlap_of_a_folder_and_a_file(tmp_path, capsys):
    atlas = _cohort(tmp_path)
    extra = save(cube(4, 9), tmp_path / "flat" / "r009s001_mask.nii.gz")
    out = tmp_path / "out"
    assert main(["overlap", str(atlas), str(extra), "-o", str(out), "--quiet", "--slices", "3"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["overlap.png", "overlap_count.nii.gz", "overlap_share.nii.gz"]
    count, share = nib.load(out / "overlap_count.nii.gz"), nib.load(out / "overlap_share.nii.gz")
    expected = cube(2, 6).astype(int) + cube(3, 8) + cube(4, 9)
    assert np.array_equal(np.asanyarray(count.dataobj), expected) and count.get_data_dtype() == np.uint16
    assert np.allclose(share.get_fdata(), expected / 4) and np.allclose(share.affine, count.affine)
    assert np.allclose(count.affine, np.diag([1.0, 1.2, 1.5, 1.0]))
    assert (out / "overlap.png").read_bytes()[:4] == b"\x89PNG"
    assert "overlap of 4 masks: at most 3 subject(s) (75 %)" in capsys.readouterr().out


def test_participant_label_and_no_figure(tmp_path):
    atlas = _cohort(tmp_path)
    out = tmp_path / "out"
    assert main(["overlap", str(atlas), "-o", str(out), "--quiet", "--no-figure",
                 "--participant-label", "r001s001", "r001s003"]) == 0
    assert not (out / "overlap.png").exists()
    assert np.allclose(nib.load(out / "overlap_share.nii.gz").get_fdata(), cube(2, 6) / 2)


def test_bad_inputs_exit_3_and_write_nothing(tmp_path, capsys):
    atlas = _cohort(tmp_path)
    odd = save(cube(2, 6, shape=(14, 12, 11)), tmp_path / "odd" / "r009s001_mask.nii.gz")
    fractional = save(cube(2, 6).astype(np.float32) * 0.7, tmp_path / "frac" / "r009s002_mask.nii.gz")
    t1_only = save(np.ones((4, 4, 4), np.float32), tmp_path / "t1s" / "sub-x_T1w.nii.gz").parent
    cases = [([str(atlas), str(odd)], "grid shape"), ([str(fractional)], "not binary"),
             ([str(tmp_path / "missing.nii.gz")], "does not exist"), ([str(t1_only)], "holds no lesion masks")]
    for inputs, message in cases:
        out = tmp_path / "out"
        assert main(["overlap", *inputs, "-o", str(out), "--quiet"]) == 3
        assert message in capsys.readouterr().err
        assert not out.exists()


def test_bad_arguments_exit_2(tmp_path):
    atlas = _cohort(tmp_path)
    assert main(["overlap", str(atlas), "-o", str(tmp_path / "o"), "--slices", "0"]) == 2


@pytest.mark.slow
@pytest.mark.ci_slow
def test_overlap_of_a_synthetic_cohort_sums_to_the_mean_lesion_volume(tmp_path):
    import pandas as pd

    cohort = tmp_path / "synth"
    assert main(["synth", str(cohort), "--subjects", "6", "--seed", "5", "--resolution", "2"]) == 0
    out = tmp_path / "out"
    assert main(["overlap", str(cohort), "-o", str(out), "--quiet"]) == 0
    share = nib.load(out / "overlap_share.nii.gz")
    voxel = float(np.prod(share.header.get_zooms()[:3]))
    truth = pd.concat(pd.read_csv(p, sep="\t") for p in cohort.rglob("participants.tsv"))
    assert len(truth) == 6
    # the generator's own volumes (voxel counts × 8 mm³): the share map sums to their mean
    assert share.get_fdata().sum() * voxel == pytest.approx(truth["total_volume_mm3"].mean(), rel=1e-5)
