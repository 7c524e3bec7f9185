import numpy as np
import pandas as pd
import pytest

from lesionkit.cli import main
from tests.metrics._trees import cube, pred_tree, save, truth_tree


def _raters(tmp_path):
    b = cube(2, 6)
    b[6, 2:6, 2:6] = 1
    rater_a = truth_tree(tmp_path / "A", {"s1": cube(2, 6), "s2": cube(3, 8), "s3": cube(1, 4)}, location=False)
    rater_b = pred_tree(tmp_path / "B", {"s1": b, "s2": cube(3, 8), "s4": cube(1, 4)})
    return rater_a, rater_b


def test_reliability_writes_pairs_and_summary(tmp_path, capsys):
    rater_a, rater_b = _raters(tmp_path)
    out = tmp_path / "out"
    assert main(["reliability", str(rater_a), str(rater_b), "-o", str(out), "--names", "ann", "bob", "--quiet"]) == 0
    printed = capsys.readouterr()
    warned = [line for line in printed.err.splitlines() if line.startswith("lesionkit reliability: warning: ")]
    assert len(warned) == 1 and "2 subject(s)" in warned[0] and "sub-s3_ses-1 (missing for bob)" in warned[0]
    assert "sub-s4_ses-1 (missing for ann)" in warned[0] and "ann vs bob: n=2" in printed.out
    assert "warning" not in printed.out
    pairs = pd.read_csv(out / "pairs.tsv", sep="\t")
    assert list(pairs.columns) == ["subject", "rater_a", "rater_b", "dice", "hd", "hd95", "volume_a_mm3",
                                   "volume_b_mm3"]
    assert list(pairs["subject"]) == ["sub-s1_ses-1", "sub-s2_ses-1"]
    assert pairs.loc[0, "dice"] == pytest.approx(2 * 64 / 144) and pairs.loc[1, "dice"] == 1.0
    summary = pd.read_csv(out / "summary.tsv", sep="\t")
    assert list(summary.columns[:9]) == ["pair", "n", "dice_mean", "dice_sd", "hd_mean", "hd_sd", "icc",
                                         "icc_ci_low", "icc_ci_high"]
    assert summary.loc[0, "pair"] == "ann vs bob" and summary.loc[0, "n"] == 2
    assert summary.loc[0, "dice_mean"] == pytest.approx((2 * 64 / 144 + 1) / 2, abs=1e-5)


def test_an_empty_tracing_is_kept_as_inf(tmp_path, capsys):
    rater_a = pred_tree(tmp_path / "A", {"s1": cube(2, 6), "s2": cube(0, 0)})
    rater_b = pred_tree(tmp_path / "B", {"s1": cube(0, 0), "s2": cube(0, 0)})
    out = tmp_path / "out"
    assert main(["reliability", str(rater_a), str(rater_b), "-o", str(out), "--quiet"]) == 0
    pairs = pd.read_csv(out / "pairs.tsv", sep="\t")
    assert list(pairs["dice"]) == [0.0, 1.0] and pairs.loc[0, "hd"] == np.inf and pairs.loc[1, "hd"] == 0.0
    summary = pd.read_csv(out / "summary.tsv", sep="\t")
    assert summary.loc[0, "hd_mean"] == np.inf and summary.loc[0, "n_hd_inf"] == 1
    assert "HD inf" in capsys.readouterr().out


def test_bad_inputs_exit_3_and_write_nothing(tmp_path, capsys):
    rater_a, _ = _raters(tmp_path)
    odd = pred_tree(tmp_path / "odd", {"s1": cube(2, 6, shape=(14, 12, 11))})
    fractional = pred_tree(tmp_path / "frac", {"s1": cube(2, 6).astype(np.float32) * 0.5})
    nobody = pred_tree(tmp_path / "nobody", {"zz": cube(2, 6)})
    t1_only = save(np.ones((4, 4, 4), np.float32), tmp_path / "t1s" / "sub-s1_T1w.nii.gz").parent
    for other, message in ((odd, "grid shape"), (fractional, "not binary"), (tmp_path / "missing", "does not exist"),
                           (nobody, "no subject has a mask from every rater"),
                           (t1_only, "no subject has a mask from every rater")):
        out = tmp_path / "out"
        assert main(["reliability", str(rater_a), str(other), "-o", str(out), "--quiet"]) == 3
        assert message in capsys.readouterr().err
        assert not out.exists()


def test_bad_arguments_exit_2(tmp_path):
    rater_a, rater_b = _raters(tmp_path)
    out = str(tmp_path / "o")
    assert main(["reliability", str(rater_a), "-o", out]) == 2
    assert main(["reliability", str(rater_a), str(rater_b), "-o", out, "--names", "x"]) == 2
    assert main(["reliability", str(rater_a), str(rater_b), "-o", out, "--names", "x", "x"]) == 2
    with pytest.raises(SystemExit) as error:
        main(["reliability", str(rater_a), str(rater_b), "-o", out, "--match", "session"])
    assert error.value.code == 2


@pytest.mark.slow
def test_reliability_of_edited_synthetic_tracings(tmp_path):
    """Rater A = the synthetic truth, rater B = A again, rater C = A dilated by one voxel (2 mm)."""
    from scipy import ndimage as ndi

    from lesionkit.io import load_case_mask, load_cohort, save_nifti

    cohort = tmp_path / "synth"
    assert main(["synth", str(cohort), "--subjects", "5", "--seed", "8", "--resolution", "2"]) == 0
    for case in load_cohort(cohort):
        img = load_case_mask(case)
        mask = np.asanyarray(img.dataobj)
        for rater, data in (("A", mask), ("B", mask), ("C", ndi.binary_dilation(mask))):
            save_nifti(data.astype(np.uint8), tmp_path / rater / f"{case.subject}_mask.nii.gz", img.affine,
                       dtype=np.uint8)
    out = tmp_path / "out"
    folders = [str(tmp_path / r) for r in "ABC"]
    assert main(["reliability", *folders, "-o", str(out), "--quiet"]) == 0
    summary = pd.read_csv(out / "summary.tsv", sep="\t").set_index("pair")
    assert list(summary.index) == ["A vs B", "A vs C", "B vs C", "all"] and (summary["n"] == 5).all()
    same = summary.loc["A vs B"]
    assert same["dice_mean"] == 1.0 and same["hd_mean"] == 0.0 and same["icc"] == 1.0
    dilated = summary.loc["A vs C"]
    # every boundary voxel of C lies one 2 mm voxel from A; A's boundaries that C swallows (holes, lesions
    # merged by the dilation) can lie further from C's boundary, so HD is at least 2 mm
    assert 0.3 < dilated["dice_mean"] < 1.0 and dilated["hd_mean"] >= 2.0
    assert dilated["icc"] < 1.0  # C is always larger: absolute agreement is penalised
    pairs = pd.read_csv(out / "pairs.tsv", sep="\t")
    c_rows = pairs[pairs["rater_b"] == "C"]
    assert (c_rows["volume_b_mm3"] > c_rows["volume_a_mm3"]).all()
