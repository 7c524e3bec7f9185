import numpy as np
import pytest

from lesionkit.io import InvalidInputError
from lesionkit.metrics import evaluate_cohort, evaluate_pair
from tests.metrics._trees import cube, pred_tree, save, truth_tree


@pytest.fixture
def trees(tmp_path):
    truths = {"r001s001": cube(2, 6), "r001s002": cube(3, 8), "r001s003": cube(4, 7)}
    preds = {"r001s001": cube(2, 7), "r001s002": cube(3, 8), "zz9": cube(1, 3)}  # r001s003 missing, zz9 extra
    probs = {"r001s001": cube(2, 6).astype(np.float32) * 0.4 + cube(2, 7).astype(np.float32) * 0.3}
    return truth_tree(tmp_path / "truth", truths), pred_tree(tmp_path / "pred", preds, probs), truths, preds


def test_evaluate_cohort_matches_and_scores(trees):
    truth, pred, truths, preds = trees
    with pytest.warns(UserWarning, match="sub-zz9"):
        rows, summary = evaluate_cohort(pred, truth, progress=False, n_resamples=50)
    assert rows["case_id"].tolist() == ["sub-r001s001_ses-1", "sub-r001s002_ses-1", "sub-r001s003_ses-1"]
    first = rows.iloc[0]
    expected = evaluate_pair(preds["r001s001"], truths["r001s001"], spacing=(1.0, 1.2, 1.5))
    for key, value in expected.items():
        assert first[key] == pytest.approx(value, nan_ok=True), key
    assert first["mdsc"] == pytest.approx(1.0) and first["mdsc_threshold"] > 0.3  # the 0.7 core is the truth
    missing = rows.iloc[2]
    assert missing["prediction"] == "missing" and missing["dice"] == 0.0 and np.isinf(missing["hd"])
    assert missing["mdsc"] == 0.0  # an empty mask's best Dice
    assert summary["missing_predictions"] == ["sub-r001s003_ses-1"]
    assert summary["extra_predictions"] == ["sub-zz9_ses-1"]
    assert summary["metrics"]["hd"]["n_inf"] == 1
    assert rows["location"].tolist() == ["subcortical", "other", "subcortical"]  # the largest lesion's
    assert rows["hemisphere"].tolist() == ["left", "right", "left"]
    assert {s["stratum"] for s in summary["strata"]} == {"size_quartile", "cohort", "location", "hemisphere"}


def test_parallel_jobs_give_the_same_table(trees):
    truth, pred, _, _ = trees
    with pytest.warns(UserWarning):
        serial, _ = evaluate_cohort(pred, truth, progress=False, n_resamples=10)
    with pytest.warns(UserWarning):
        parallel, _ = evaluate_cohort(pred, truth, jobs=2, progress=False, n_resamples=10)
    assert serial.equals(parallel)


def test_flat_predictions_without_session_match(tmp_path, trees):
    truth, _, truths, _ = trees
    flat = tmp_path / "flat"
    save(cube(2, 6), flat / "r001s001.nii.gz")
    rows, summary = evaluate_cohort(flat, truth, progress=False, n_resamples=10)
    assert rows.iloc[0]["dice"] == 1.0
    assert len(summary["missing_predictions"]) == 2


def test_grid_mismatch_names_both_files(tmp_path, trees):
    truth, _, _, _ = trees
    shifted = np.diag([1.0, 1.2, 1.5, 1.0])
    shifted[0, 3] = 5.0
    pred = pred_tree(tmp_path / "bad", {"r001s001": cube(2, 6), "r001s002": cube(3, 8)}, affine=shifted)
    for jobs in (1, 2):  # the error must also cross the process pool intact
        with pytest.raises(InvalidInputError) as error:
            evaluate_cohort(pred, truth, progress=False, jobs=jobs)
        assert "desc-lesionkit_mask" in str(error.value) and "desc-T1lesion_mask" in str(error.value)
        assert error.value.path is not None and error.value.path.name.endswith("desc-lesionkit_mask.nii.gz")


def test_predictions_are_scored_in_their_own_space(tmp_path):
    """ATLAS has MNI and space-orig masks side by side; native predictions meet the native truth."""
    truth = truth_tree(tmp_path / "truth", {"r001s001": cube(2, 6)})
    anat = truth / "Training" / "R001" / "sub-r001s001" / "ses-1" / "anat"
    native = np.zeros((9, 9, 9), np.uint8)
    native[1:4, 1:4, 1:4] = 1
    save(native, anat / "sub-r001s001_ses-1_space-orig_label-L_desc-T1lesion_mask.nii.gz", np.eye(4))
    pred = tmp_path / "pred" / "sub-r001s001" / "ses-1" / "anat"
    save(native, pred / "sub-r001s001_ses-1_space-orig_label-L_desc-lesionkit_mask.nii.gz", np.eye(4))
    rows, _ = evaluate_cohort(tmp_path / "pred", truth, progress=False, n_resamples=10)
    assert len(rows) == 1 and rows.iloc[0]["dice"] == 1.0 and rows.iloc[0]["truth_volume"] == 27.0
    mni = tmp_path / "mni"
    save(cube(2, 6), mni / "sub-r001s001_ses-1_space-MNI152NLin2009aSym_label-L_desc-lesionkit_mask.nii.gz")
    rows, _ = evaluate_cohort(mni, truth, progress=False, n_resamples=10)
    assert len(rows) == 1 and rows.iloc[0]["dice"] == 1.0 and rows.iloc[0]["truth_volume"] == pytest.approx(64 * 1.8)
