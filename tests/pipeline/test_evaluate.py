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
