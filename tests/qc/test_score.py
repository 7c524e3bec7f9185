import json
import math

import pytest

from lesionkit.qc.score import INPUTS, QCWeights, default_weights, load_weights, score_case

#: A case the segmentation surely got right, and one it surely did not (the shipped weights must tell them apart).
SUCCESS = {"volume_mm3": 6000.0, "n_lesions": 1.0, "members": 2.0, "member_dice": 0.95, "member_volume_cv": 0.02,
           "entropy_lesion": 0.12, "entropy_shell": 0.2, "faint_mm3": 0.0, "edge_share": 0.05, "outside_share": 0.0,
           "ventricle_share": 0.0, "volume_z": 0.1, "count_z": 0.0}
FAILURE = {"volume_mm3": 40.0, "n_lesions": 3.0, "members": 2.0, "member_dice": 0.1, "member_volume_cv": 0.9,
           "entropy_lesion": 0.85, "entropy_shell": 0.7, "faint_mm3": 900.0, "edge_share": 0.6, "outside_share": 0.3,
           "ventricle_share": 0.4, "volume_z": -3.5, "count_z": 2.5}


def _weights(**weights):
    names = weights or {"member_disagreement": 2.0}
    return QCWeights(intercept=-1.0, weights=dict(names), means={k: 0.1 for k in names},
                     scales={k: 0.2 for k in names}, flag_threshold=0.5, fit={"id": "test"})


def test_the_shipped_score_ranks_an_obvious_failure_above_an_obvious_success():
    good, bad = score_case(SUCCESS), score_case(FAILURE)
    assert 0 <= good.score < bad.score <= 1
    assert good.flag == "ok" and bad.flag == "check" and bad.reasons


def test_the_shipped_score_never_falls_as_the_evidence_of_failure_grows():
    base = score_case(SUCCESS).score
    worse = {"member_dice": 0.2, "member_volume_cv": 0.8, "entropy_lesion": 0.9, "entropy_shell": 0.6,
             "faint_mm3": 5000.0, "edge_share": 0.7, "outside_share": 0.5, "ventricle_share": 0.6,
             "template_ncc": 0.1, "n_lesions": 30.0, "count_z": 4.0}
    for name, value in worse.items():
        assert score_case({**SUCCESS, name: value}).score >= base, name
    assert score_case({**SUCCESS, "entropy_lesion": 0.9}).score > base  # evidence the fit gives weight to
    assert any("uncertain inside the lesion" in r for r in score_case({**SUCCESS, "entropy_lesion": 0.95}).reasons)


def test_the_shipped_weights_were_fitted():
    weights = default_weights()
    assert weights.fit.get("id", "").startswith("qc-") and weights.fit.get("seeds")
    assert set(weights.weights) <= set(INPUTS) and 0 < weights.flag_threshold < 1


def test_reasons_name_the_value_and_come_largest_first():
    weights = _weights(member_disagreement=2.0, volume_high=0.2)  # terms 4.9 and 3.1
    result = score_case({"member_dice": 0.41, "members": 2, "volume_z": 3.2}, weights)
    assert result.flag == "check" and result.reasons == ["flip members disagree (Dice 0.41)",
                                                         "volume outlier (z=+3.2)"]
    ensemble = score_case({"member_dice": 0.41, "members": 4}, weights)
    assert ensemble.reasons == ["members disagree (Dice 0.41)"]


def test_an_undefined_input_carries_no_evidence():
    weights = _weights()
    missing = score_case({}, weights)
    assert missing.score == pytest.approx(1 / (1 + math.exp(1.0)), abs=1e-4) and missing.reasons == []
    assert score_case({"member_dice": float("nan")}, weights).score == missing.score


def test_a_failed_registration_is_flagged_whatever_the_score():
    weights = _weights()
    assert score_case({"member_dice": 1.0}, weights).flag == "ok"
    poor = score_case({"member_dice": 1.0, "registration_ncc": 0.55, "registration_fallback": 0.0}, weights)
    assert poor.flag == "check" and poor.score >= 0.9 and poor.reasons == ["registration poor (brain NCC 0.55)"]
    fallback = score_case({"member_dice": 1.0, "registration_ncc": 0.8, "registration_fallback": 1.0}, weights)
    assert fallback.flag == "check" and "rigid start" in fallback.reasons[0]


def test_weights_round_trip_and_bad_files_are_refused(tmp_path):
    weights = _weights(member_disagreement=2.0, log_volume=-0.5)
    path = tmp_path / "w.json"
    path.write_text(json.dumps(weights.as_dict()))
    assert load_weights(path) == weights
    path.write_text(json.dumps({**weights.as_dict(), "inputs": {"made_up": {"weight": 1, "mean": 0, "scale": 1}}}))
    with pytest.raises(ValueError, match="unknown QC inputs"):
        load_weights(path)
    path.write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="not a lesionkit-qc-weights-1"):
        load_weights(path)


def test_an_empty_mask_is_checked_when_every_subject_is_expected_to_have_a_lesion():
    weights = _weights()
    empty = {"member_dice": 1.0, "volume_mm3": 0.0}
    assert score_case(empty, weights).flag == "ok"  # lesion-free subjects exist in general cohorts
    expected = score_case({**empty, "expect_lesion": 1.0}, weights)
    assert expected.flag == "check" and expected.reasons == ["no lesion found, though every subject is expected to "
                                                             "have one"]
    assert score_case({"member_dice": 1.0, "volume_mm3": 800.0, "expect_lesion": 1.0}, weights).flag == "ok"
