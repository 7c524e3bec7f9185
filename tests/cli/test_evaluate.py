import json

import numpy as np
import pandas as pd
import pytest

from lesionkit.cli import main
from tests.metrics._trees import cube, pred_tree, save, truth_tree


def _trees(tmp_path):
    truth = truth_tree(tmp_path / "truth", {"r001s001": cube(2, 6), "r001s002": cube(3, 8), "r001s003": cube(4, 7)})
    pred = pred_tree(tmp_path / "pred", {"r001s001": cube(2, 7), "r001s002": cube(3, 8), "zz9": cube(1, 3)})
    return truth, pred


def test_evaluate_writes_tsv_json_and_report(tmp_path, capsys):
    truth, pred = _trees(tmp_path)
    out = tmp_path / "out"
    code = main(["evaluate", str(pred), str(truth), "-o", str(out), "--bootstrap", "100", "--quiet", "--jobs", "2"])
    assert code == 0
    printed = capsys.readouterr()
    assert "1 missing prediction" in printed.out and "warning" not in printed.out
    assert "sub-zz9" in printed.err and printed.err.startswith("lesionkit evaluate: warning: ")  # the stray file
    rows = pd.read_csv(out / "metrics.tsv", sep="\t")
    assert len(rows) == 3 and rows.loc[1, "dice"] == 1.0
    assert rows.loc[2, "hd"] == np.inf  # the missing prediction, written as inf
    summary = json.loads((out / "summary.json").read_text())
    assert summary["missing_predictions"] == ["sub-r001s003_ses-1"]
    assert summary["metrics"]["hd"]["mean"] == "inf" and summary["metrics"]["hd"]["n_inf"] == 1
    assert summary["bootstrap"]["n_resamples"] == 100
    report = (out / "report.html").read_text()
    assert report.count("data:image/png;base64,") == 2 and "sub-r001s003_ses-1" in report
    assert sorted(p.name for p in out.iterdir()) == ["metrics.tsv", "report.html", "summary.json"]


def test_grid_mismatch_exits_3_and_writes_nothing(tmp_path, capsys):
    truth, _ = _trees(tmp_path)
    pred = tmp_path / "bad"
    save(cube(2, 6, shape=(14, 12, 11)), pred / "r001s001_mask.nii.gz")
    out = tmp_path / "out"
    assert main(["evaluate", str(pred), str(truth), "-o", str(out), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "r001s001_mask.nii.gz" in err and "desc-T1lesion_mask" in err
    assert not out.exists()


def test_missing_folder_exits_3_and_bad_flags_exit_2(tmp_path):
    truth, pred = _trees(tmp_path)
    assert main(["evaluate", str(tmp_path / "nope"), str(truth), "-o", str(tmp_path / "o")]) == 3
    assert main(["evaluate", str(pred), str(truth), "-o", str(tmp_path / "o"), "--jobs", "0"]) == 2
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
@pytest.mark.ci_slow
def test_evaluate_a_synthetic_cohort_end_to_end(tmp_path):
    """`lesionkit synth` truth, predictions = truth dilated (one subject left out), then `lesionkit evaluate`."""
    from scipy import ndimage as ndi

    from lesionkit.io import derivative_path, load_cohort, load_mask, save_nifti

    truth = tmp_path / "synth"
    assert main(["synth", str(truth), "--subjects", "3", "--resolution", "2", "--quiet"]) == 0
    cases = load_cohort(truth)
    pred = tmp_path / "pred"
    for case in cases[:2]:
        img = load_mask(case.mask)
        dilated = ndi.binary_dilation(np.asanyarray(img.dataobj)).astype(np.uint8)
        path = derivative_path(pred, case.subject, case.session, "mask", space=case.space, label="L", desc="lesionkit")
        save_nifti(dilated, path, affine=img.affine)
    out = tmp_path / "out"
    assert main(["evaluate", str(pred), str(truth), "-o", str(out), "--quiet", "--bootstrap", "200"]) == 0
    rows = pd.read_csv(out / "metrics.tsv", sep="\t")
    assert len(rows) == 3 and rows["prediction"].eq("missing").sum() == 1
    found = rows[rows["prediction"] != "missing"]
    assert (found["tpr"] == 1.0).all() and (found["dice"] > 0.3).all()  # a dilation covers the truth
    assert "location" in rows and rows["location"].notna().all()  # from the generator's lesions.tsv


def test_threshold_default_is_the_library_default():
    """argparse defaults are written in the parser (importing lesionkit.core would slow `--help`): keep them equal."""
    from lesionkit.cli import _get_parser
    from lesionkit.core import DEFAULT_THRESHOLD

    assert _get_parser().parse_args(["evaluate", "p", "t", "-o", "o"]).threshold == DEFAULT_THRESHOLD
