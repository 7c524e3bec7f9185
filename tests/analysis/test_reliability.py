import math

import numpy as np
import pandas as pd
import pytest

from lesionkit.analysis.reliability import (
    PAIR_COLUMNS,
    SUMMARY_COLUMNS,
    icc_2_1,
    load_raters,
    match_raters,
    rater_pairs,
    reliability_report,
    summarize_pairs,
)
from lesionkit.io import Case, InvalidInputError
from tests.metrics._trees import cube, pred_tree, save

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges; their Table 4 gives ICC(2,1) = .29.
SHROUT_FLEISS = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], float)


def test_icc_shrout_fleiss_example():
    result = icc_2_1(SHROUT_FLEISS)
    assert round(result.icc, 2) == 0.29
    # by hand: MSR = 11.24, MSC = 32.49, MSE = 1.019 (S&F Table 3) -> (MSR-MSE)/(MSR+3MSE+4(MSC-MSE)/6)
    msr, msc, mse = 56.208333 / 5, 97.458333 / 3, 15.291667 / 15
    assert result.icc == pytest.approx((msr - mse) / (msr + 3 * mse + 4 * (msc - mse) / 6), rel=1e-6)
    assert result.f == pytest.approx(msr / mse, rel=1e-6) and (result.df1, result.df2) == (5, 15)
    assert result.ci_low < result.icc < result.ci_high


def test_icc_hand_computed_constant_offset():
    # rater B = rater A + 2: consistency would be perfect, absolute agreement is penalised.
    # rows 3, 5, 7 -> MSR = 2·8/2 = 8; columns 4, 6 -> MSC = 3·2/1 = 6; no residual -> MSE = 0;
    # ICC = 8 / (8 + 0 + 2·6/3) = 2/3
    result = icc_2_1(np.array([[2, 4], [4, 6], [6, 8]], float))
    assert result.icc == pytest.approx(2 / 3)
    assert math.isinf(result.f) and result.p == 0.0
    assert result.ci_low < 2 / 3 < result.ci_high <= 1.0


def test_icc_limits():
    perfect = icc_2_1(np.array([[1.0, 1.0], [5.0, 5.0], [2.0, 2.0]]))
    assert (perfect.icc, perfect.ci_low, perfect.ci_high) == (1.0, 1.0, 1.0)
    assert math.isnan(icc_2_1(np.ones((4, 2))).icc)  # no variance at all: undefined
    assert math.isnan(icc_2_1(np.array([[1.0, 2.0]])).icc)  # one subject
    disagree = icc_2_1(np.array([[1.0, 5.0], [5.0, 1.0], [2.0, 4.0], [4.0, 3.0]]))
    assert disagree.icc < 0  # raters anti-correlated
    with pytest.raises(ValueError, match="n × k"):
        icc_2_1(np.ones(4))


def _pingouin_icc2(long: pd.DataFrame) -> dict[str, float]:
    """pingouin's ICC(2,1) row as {icc, f, p, ci_low, ci_high}, whatever its release calls the row and columns.

    pingouin is an independent reference here, not lesionkit: its warnings are silenced and a table layout this
    helper does not know fails with that message, not as a wrong ICC."""
    import warnings

    pingouin = pytest.importorskip("pingouin")  # installed by the test extra; skipped only if it cannot import
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = pingouin.intraclass_corr(long, "subject", "rater", "value").set_index("Type")
    rows = [label for label in ("ICC(A,1)", "ICC2", "ICC(2,1)") if label in table.index]
    cis = [column for column in table.columns if str(column).startswith("CI95")]
    assert rows and cis, f"pingouin {pingouin.__version__}: unknown table layout {list(table.index)}, {list(table)}"
    row = table.loc[rows[0]]
    low, high = row[cis[0]]
    return {"icc": row["ICC"], "f": row["F"], "p": row["pval"], "ci_low": low, "ci_high": high}


@pytest.mark.parametrize("seed", range(4))
def test_icc_matches_pingouin(seed):
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(4, 20)), int(rng.integers(2, 5))
    x = rng.normal(size=(n, 1)) * 3 + rng.normal(size=(1, k)) + rng.normal(size=(n, k))
    long = pd.DataFrame([(i, j, x[i, j]) for i in range(n) for j in range(k)], columns=["subject", "rater", "value"])
    reference = _pingouin_icc2(long)
    result = icc_2_1(x)
    assert result.icc == pytest.approx(reference["icc"], abs=1e-9)
    assert result.f == pytest.approx(reference["f"], rel=1e-9) and result.p == pytest.approx(reference["p"], rel=1e-6)
    # pingouin rounds its confidence interval to 2 decimals
    assert result.ci_low == pytest.approx(reference["ci_low"], abs=0.0051)
    assert result.ci_high == pytest.approx(reference["ci_high"], abs=0.0051)


def _masks():
    a = cube(2, 6)  # 64 voxels
    b = cube(2, 6)
    b[6, 2:6, 2:6] = 1  # 80 voxels, 64 shared
    return a, b


def test_pairs_and_summary_hand_computed(tmp_path):
    a, b = _masks()
    rater_a = pred_tree(tmp_path / "A", {"s1": a, "s2": a, "s3": np.zeros_like(a)})
    rater_b = pred_tree(tmp_path / "B", {"s1": b, "s2": a, "s3": np.zeros_like(a)})
    matched, names = load_raters([rater_a, rater_b])
    assert names == ["A", "B"] and list(matched) == ["sub-s1_ses-1", "sub-s2_ses-1", "sub-s3_ses-1"]
    pairs = rater_pairs(matched, names)
    assert tuple(pairs.columns) == PAIR_COLUMNS and len(pairs) == 3
    voxel = 1.0 * 1.2 * 1.5  # the trees' voxel size
    s1 = pairs.iloc[0]
    assert s1["dice"] == pytest.approx(2 * 64 / (64 + 80))
    assert s1["hd"] == pytest.approx(1.0)  # the extra face is one voxel (1 mm along x) away
    assert (s1["volume_a_mm3"], s1["volume_b_mm3"]) == pytest.approx((64 * voxel, 80 * voxel))
    assert pairs.loc[1, "dice"] == 1.0 and pairs.loc[1, "hd"] == 0.0
    assert pairs.loc[2, "dice"] == 1.0 and pairs.loc[2, "hd"] == 0.0  # both empty: ATLAS convention
    summary = summarize_pairs(pairs)
    assert tuple(summary.columns) == SUMMARY_COLUMNS and list(summary["pair"]) == ["A vs B"]
    row = summary.iloc[0]
    dice = [2 * 64 / 144, 1.0, 1.0]
    assert row["n"] == 3 and row["dice_mean"] == pytest.approx(np.mean(dice))
    assert row["dice_sd"] == pytest.approx(np.std(dice, ddof=1))
    assert row["hd_mean"] == pytest.approx(1 / 3) and row["n_hd_inf"] == 0
    volumes = np.array([[64, 80], [64, 64], [0, 0]]) * voxel
    assert row["icc"] == pytest.approx(icc_2_1(volumes).icc)


def test_one_empty_tracing_keeps_inf():
    cases = {r: [Case(subject="s1", mask=None)] for r in ("A", "B")}  # no masks at all: nothing matched
    assert match_raters(cases) == ({}, {})
    pairs = pd.DataFrame([{"subject": "x", "rater_a": "A", "rater_b": "B", "dice": 0.0, "hd": math.inf,
                           "hd95": math.inf, "volume_a_mm3": 10.0, "volume_b_mm3": 0.0},
                          {"subject": "y", "rater_a": "A", "rater_b": "B", "dice": 1.0, "hd": 0.0,
                           "hd95": 0.0, "volume_a_mm3": 5.0, "volume_b_mm3": 5.0}])
    row = summarize_pairs(pairs).iloc[0]
    assert math.isinf(row["hd_mean"]) and math.isnan(row["hd_sd"]) and row["n_hd_inf"] == 1
    assert row["dice_mean"] == 0.5


def test_three_raters_give_an_all_row(tmp_path):
    a, b = _masks()
    c = cube(3, 6)
    folders = [pred_tree(tmp_path / n, {"s1": m, "s2": b}) for n, m in (("r1", a), ("r2", b), ("r3", c))]
    matched, names = load_raters(folders, names=["x", "y", "z"])
    pairs = rater_pairs(matched, names)
    assert len(pairs) == 6 and set(zip(pairs.rater_a, pairs.rater_b, strict=True)) == {("x", "y"), ("x", "z"),
                                                                                      ("y", "z")}
    summary = summarize_pairs(pairs)
    assert list(summary["pair"]) == ["x vs y", "x vs z", "y vs z", "all"]
    assert summary.iloc[-1]["dice_mean"] == pytest.approx(pairs["dice"].mean()) and summary.iloc[-1]["n"] == 2
    voxel = 1.8
    volumes = np.array([[64, 80, 27], [80, 80, 80]]) * voxel
    assert summary.iloc[-1]["icc"] == pytest.approx(icc_2_1(volumes).icc, nan_ok=True)


def test_missing_subjects_warn_and_none_matching_is_an_error(tmp_path):
    a, _ = _masks()
    rater_a = pred_tree(tmp_path / "A", {"s1": a, "s2": a})
    rater_b = pred_tree(tmp_path / "B", {"s1": a, "s3": a})
    with pytest.warns(UserWarning, match=r"2 subject\(s\).*sub-s2_ses-1 \(missing for B\).*sub-s3_ses-1 \(missing "):
        matched, _ = load_raters([rater_a, rater_b])
    assert list(matched) == ["sub-s1_ses-1"]
    rater_c = pred_tree(tmp_path / "C", {"s9": a})
    with pytest.raises(InvalidInputError, match="no subject has a mask from every rater"), pytest.warns(UserWarning):
        load_raters([rater_a, rater_c])


def test_sessions_of_one_rater_match_by_subject(tmp_path):
    a, b = _masks()
    first = save(a, tmp_path / "t1" / "sub-s1" / "ses-1" / "anat" / "sub-s1_ses-1_label-L_mask.nii.gz").parents[3]
    second = save(b, tmp_path / "t2" / "sub-s1" / "ses-2" / "anat" / "sub-s1_ses-2_label-L_mask.nii.gz").parents[3]
    with pytest.raises(InvalidInputError), pytest.warns(UserWarning):
        load_raters([first, second])  # by id, ses-1 and ses-2 are different cases
    matched, _ = load_raters([first, second], by="subject")
    assert list(matched) == ["sub-s1"]
    assert rater_pairs(matched, ["t1", "t2"]).loc[0, "dice"] == pytest.approx(2 * 64 / 144)


def test_bad_masks_are_refused(tmp_path):
    a, _ = _masks()
    rater_a = pred_tree(tmp_path / "A", {"s1": a})
    odd = pred_tree(tmp_path / "B", {"s1": cube(2, 6, shape=(14, 12, 11))})
    matched, names = load_raters([rater_a, odd])
    with pytest.raises(InvalidInputError, match="grid shape"):
        rater_pairs(matched, names)
    fractional = pred_tree(tmp_path / "C", {"s1": a.astype(np.float32) * 0.5})
    matched, names = load_raters([rater_a, fractional])
    with pytest.raises(InvalidInputError, match="not binary"):
        rater_pairs(matched, names)
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_raters([rater_a, tmp_path / "missing"])


def test_one_folder_for_two_raters_is_refused(tmp_path):
    folder = tmp_path / "a"
    folder.mkdir()
    with pytest.raises(InvalidInputError, match="is given twice as a rater folder$"):
        load_raters([folder, folder])  # the very same object twice


def test_reliability_report_writes_the_two_tables(tmp_path):
    a, b = cube(2, 6), cube(3, 7)
    folders = [pred_tree(tmp_path / "A", {"s1": a, "s2": a}), pred_tree(tmp_path / "B", {"s1": b, "s2": a})]
    seen = []
    report = reliability_report(folders, tmp_path / "out", names=["x", "y"],
                                progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 2), (2, 2)] and report.raters == ["x", "y"]
    matched, names = load_raters(folders, ["x", "y"])
    expected = rater_pairs(matched, names)
    pd.testing.assert_frame_equal(report.pairs, expected)
    pd.testing.assert_frame_equal(report.summary, summarize_pairs(expected))
    written = pd.read_csv(report.paths["pairs.tsv"], sep="\t", na_values="n/a")
    assert list(written.columns) == list(PAIR_COLUMNS)
    # s1: Dice of two 4³ cubes offset by one voxel on each axis = 2·27 / 128
    assert written.loc[written["subject"] == "sub-s1_ses-1", "dice"].item() == pytest.approx(2 * 27 / 128, rel=1e-5)
    summary = pd.read_csv(report.paths["summary.tsv"], sep="\t", na_values="n/a")
    assert list(summary.columns) == list(SUMMARY_COLUMNS) and summary["pair"].tolist() == ["x vs y"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["pairs.tsv", "summary.tsv"]


def test_reliability_report_writes_nothing_for_bad_input(tmp_path):
    folder = pred_tree(tmp_path / "A", {"s1": cube(2, 6)})
    with pytest.raises(InvalidInputError, match="given twice as a rater folder"):
        reliability_report([folder, folder], tmp_path / "out")
    assert not (tmp_path / "out").exists()
