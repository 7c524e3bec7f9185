import json
import math

import pytest

from lesionkit.io import InvalidInputError
from lesionkit.pipeline import ClusterSpec
from lesionkit.pipeline.evaluate import EVALUATION_FILES, evaluate_predictions, json_safe
from tests.metrics._trees import cube, pred_tree, save, truth_tree


def _trees(tmp_path):
    truth = truth_tree(tmp_path / "truth", {"r001s001": cube(2, 6), "r001s002": cube(3, 8), "r001s003": cube(4, 7)})
    pred = pred_tree(tmp_path / "pred", {"r001s001": cube(2, 7), "r001s002": cube(3, 8)})
    return pred, truth


def test_json_has_no_infinities():
    assert json_safe({"a": [math.inf, -math.inf, math.nan, 1.5]}) == {"a": ["inf", "-inf", None, 1.5]}


def test_writes_the_three_files_only_when_all_are_ready(tmp_path):
    pred, truth = _trees(tmp_path)
    rows, summary = evaluate_predictions(pred, truth, tmp_path / "out", n_resamples=50, progress=False)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(EVALUATION_FILES)
    assert summary["missing_predictions"] == ["sub-r001s003_ses-1"] and len(rows) == 3
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["metrics"]["hd"]["mean"] == "inf"
    bad = tmp_path / "bad"
    save(cube(2, 6, shape=(14, 12, 11)), bad / "r001s001_mask.nii.gz")
    with pytest.raises(InvalidInputError, match="grid shape"):
        evaluate_predictions(bad, truth, tmp_path / "none", progress=False)
    assert not (tmp_path / "none").exists()


@pytest.mark.slow
def test_two_local_workers_score_like_the_serial_loop(tmp_path):
    pred, truth = _trees(tmp_path)
    evaluate_predictions(pred, truth, tmp_path / "serial", n_resamples=50, progress=False)
    evaluate_predictions(pred, truth, tmp_path / "dask", n_resamples=50, progress=False, spec=ClusterSpec(jobs=2))
    for name in ("metrics.tsv", "summary.json"):
        assert (tmp_path / "serial" / name).read_text() == (tmp_path / "dask" / name).read_text()


def test_predictions_with_qc_get_a_risk_coverage_curve_in_the_summary_and_report(tmp_path):
    from lesionkit.qc import collect_qc

    masks = {f"r001s00{i}": cube(2, 6) for i in range(1, 7)}
    truth = truth_tree(tmp_path / "truth", masks)
    preds = dict(masks)
    preds["r001s006"] = cube(7, 9)  # a miss: Dice 0
    pred = pred_tree(tmp_path / "pred", preds)
    _, plain = evaluate_predictions(pred, truth, tmp_path / "plain", n_resamples=20, progress=False)
    assert "qc" not in plain and "risk–coverage" not in (tmp_path / "plain" / "report.html").read_text()
    collect_qc([pred])  # qc.tsv from the masks alone
    table = (pred / "qc.tsv").read_text().splitlines()
    _, summary = evaluate_predictions(pred, truth, tmp_path / "out", n_resamples=20, progress=False)
    qc = summary["qc"]
    assert qc["n"] == 6 and qc["failures"] == 1 and qc["unscored"] == 0 and len(table) == 7
    assert qc["oracle"]["aurc"] <= qc["qc"]["aurc"] and len(qc["qc"]["curve"]) == 6
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Quality control: risk–coverage" in html and html.count("data:image/png;base64,") == 3
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["qc"]["failures"] == 1
