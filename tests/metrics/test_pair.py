import math

import numpy as np
import pytest
from medpy.metric import binary as medpy
from scipy import ndimage as ndi

from lesionkit.io import InvalidInputError
from lesionkit.metrics import METRIC_KEYS, evaluate_pair
from tests.metrics._blobs import random_blobs


def _atlas_reference(pred, truth):
    """The ATLAS R2.0 definitions re-derived: 6-connected components, one voxel of overlap detects."""
    both_empty = not pred.any() and not truth.any()
    dice = 1.0 if both_empty else 2 * (pred & truth).sum() / (pred.sum() + truth.sum())
    t_lab, n_t = ndi.label(truth)  # scipy's default structure is the 6-neighbour cross
    p_lab, n_p = ndi.label(pred)
    tp = sum(1 for k in range(1, n_t + 1) if pred[t_lab == k].any())
    fn = n_t - tp
    fp = sum(1 for k in range(1, n_p + 1) if not truth[p_lab == k].any())
    denominator = tp + (fp + fn) / 2
    f1 = 1.0 if denominator == 0 else tp / denominator
    return dice, f1, abs(n_p - n_t)


@pytest.mark.parametrize("seed", range(8))
def test_overlap_and_lesions_match_references(seed):
    rng = np.random.default_rng(seed)
    shape = (20, 22, 18)
    truth = random_blobs(shape, rng, n=int(rng.integers(1, 4)))
    pred = random_blobs(shape, rng, n=int(rng.integers(1, 4)))
    pred[rng.random(shape) < 0.002] = True  # scattered one-voxel false positives
    out = evaluate_pair(pred, truth, spacing=(1.0, 1.5, 2.0))
    assert set(METRIC_KEYS) <= set(out)
    assert out["dice"] == pytest.approx(medpy.dc(pred, truth))
    assert out["tpr"] == pytest.approx(medpy.recall(pred, truth))
    assert out["precision"] == pytest.approx(medpy.precision(pred, truth))
    dice, f1, count = _atlas_reference(pred, truth)
    assert out["dice"] == pytest.approx(dice)
    assert out["lesion_f1"] == pytest.approx(f1)
    assert out["lesion_count_difference"] == count
    assert out["volume_difference"] == pytest.approx(abs(int(pred.sum()) - int(truth.sum())) * 3.0)


def test_both_empty():
    empty = np.zeros((8, 8, 8), np.uint8)
    out = evaluate_pair(empty, empty)
    assert out["dice"] == 1.0 and out["lesion_f1"] == 1.0
    assert out["hd"] == out["hd95"] == out["assd"] == 0.0
    assert math.isnan(out["tpr"]) and math.isnan(out["precision"])
    assert out["volume_difference"] == 0 and out["lesion_count_difference"] == 0


def test_one_empty():
    empty = np.zeros((8, 8, 8), np.uint8)
    lesion = empty.copy()
    lesion[2:5, 2:5, 2:5] = 1
    missed = evaluate_pair(empty, lesion)
    assert missed["dice"] == 0.0 and missed["tpr"] == 0.0 and math.isnan(missed["precision"])
    assert missed["lesion_f1"] == 0.0 and missed["lesion_count_difference"] == 1
    assert np.isinf([missed["hd"], missed["hd95"], missed["assd"]]).all()
    false = evaluate_pair(lesion, empty)
    assert false["dice"] == 0.0 and false["precision"] == 0.0 and math.isnan(false["tpr"])
    assert false["volume_difference"] == 27.0 and false["false_positive_lesions"] == 1


def test_corner_touching_voxels_are_two_lesions():
    truth = np.zeros((6, 6, 6), bool)
    truth[1, 1, 1] = truth[2, 2, 2] = True  # share a corner only
    pred = np.zeros_like(truth)
    pred[1, 1, 1] = True  # detects one of the two one-voxel lesions
    out = evaluate_pair(pred, truth)
    assert out["truth_lesions"] == 2 and out["pred_lesions"] == 1
    assert out["detected_lesions"] == 1 and out["missed_lesions"] == 1
    assert out["lesion_f1"] == pytest.approx(1 / (1 + 0.5))  # TP=1, FN=1, FP=0
    assert out["lesion_count_difference"] == 1
    assert out["dice"] == pytest.approx(2 / 3)


def test_one_voxel_overlap_detects_a_lesion():
    truth = np.zeros((10, 10, 10), bool)
    truth[2:8, 2:8, 2:8] = True
    pred = np.zeros_like(truth)
    pred[7, 7, 7] = True
    pred[0, 0, 0] = True  # a false positive elsewhere
    out = evaluate_pair(pred, truth)
    assert (out["detected_lesions"], out["false_positive_lesions"], out["missed_lesions"]) == (1, 1, 0)
    assert out["lesion_f1"] == pytest.approx(1 / 1.5)


def test_float_input_is_lesion_from_half_up(rng):
    truth = random_blobs((16, 16, 16), rng)
    prob = rng.random(truth.shape).astype(np.float32)
    prob[0, 0, 0] = 0.5  # exactly 0.5 is lesion, as segmentation thresholds it
    out = evaluate_pair(prob, truth)
    np.testing.assert_equal(out, evaluate_pair(prob >= 0.5, truth))
    assert evaluate_pair(np.where(truth, 0.5, 0.0), truth)["dice"] == 1.0
    assert evaluate_pair(np.where(truth, 0.5, 0.0), truth, threshold=0.6)["dice"] == 0.0


def test_integer_and_bool_inputs_agree(rng):
    truth = random_blobs((16, 16, 16), rng)
    pred = random_blobs((16, 16, 16), rng)
    ref = evaluate_pair(pred, truth)
    for as_int in (lambda m: m.astype(np.uint8), lambda m: m.astype(np.int16), lambda m: m.astype(np.uint8) * 255):
        np.testing.assert_equal(evaluate_pair(as_int(pred), as_int(truth)), ref)
    # a non-contiguous view takes the general path and must agree too
    np.testing.assert_equal(evaluate_pair(np.asfortranarray(pred.astype(np.uint8)), truth[:, ::1]), ref)


def test_large_grid_crop_equals_small_grid(rng):
    """The bounding-box crop is exact: the same masks inside a 197×233×189 grid give the same numbers."""
    truth = random_blobs((20, 20, 20), rng)
    pred = random_blobs((20, 20, 20), rng)
    big_t = np.zeros((197, 233, 189), np.uint8)
    big_p = np.zeros_like(big_t)
    big_t[150:170, 10:30, 100:120] = truth
    big_p[150:170, 10:30, 100:120] = pred
    small = evaluate_pair(pred, truth, spacing=(1.0, 1.2, 0.8))
    big = evaluate_pair(big_p, big_t, spacing=(1.0, 1.2, 0.8))
    for key, value in small.items():
        assert big[key] == pytest.approx(value, rel=1e-12, nan_ok=True), key


def test_bad_input_is_refused():
    good = np.zeros((4, 4, 4), np.float32)
    bad = good.copy()
    bad[1, 1, 1] = np.nan
    with pytest.raises(InvalidInputError, match="NaN"):
        evaluate_pair(bad, good)
    with pytest.raises(InvalidInputError, match="shape"):
        evaluate_pair(good, np.zeros((4, 4, 5), np.float32))
    with pytest.raises(InvalidInputError, match="spacing"):
        evaluate_pair(good, good, spacing=(1.0, 0.0, 1.0))


@pytest.mark.slow
def test_synthetic_subject_against_every_reference():
    """A `lesionkit.synth` lesion (2 mm grid) against a shifted, dilated copy with a false positive."""
    import warnings

    import torch
    from monai.metrics import compute_average_surface_distance, compute_hausdorff_distance

    from lesionkit.synth import generate_subject

    subject = generate_subject(5, resolution=2.0)
    truth = subject.mask.astype(bool)
    pred = np.roll(ndi.binary_dilation(truth), 1, axis=1)
    pred[10:13, 50:53, 40:43] = True
    spacing = (2.0, 2.0, 2.0)
    out = evaluate_pair(pred.astype(np.uint8), subject.mask, spacing=spacing)
    a, b = torch.as_tensor(pred[None, None].astype(np.float32)), torch.as_tensor(truth[None, None].astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert out["hd"] == pytest.approx(compute_hausdorff_distance(a, b, True, spacing=spacing).item(), rel=1e-4)
        hd95 = compute_hausdorff_distance(a, b, True, percentile=95, spacing=spacing).item()
        assd = compute_average_surface_distance(a, b, True, symmetric=True, spacing=spacing).item()
    assert out["hd95"] == pytest.approx(hd95, rel=1e-4) and out["assd"] == pytest.approx(assd, rel=1e-4)
    assert out["dice"] == pytest.approx(medpy.dc(pred, truth))
    assert out["precision"] == pytest.approx(medpy.precision(pred, truth))
    dice, f1, count = _atlas_reference(pred, truth)
    assert (out["lesion_f1"], out["lesion_count_difference"]) == (pytest.approx(f1), count)
