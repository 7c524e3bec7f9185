import math

import numpy as np
import pytest

from lesionkit.io import ATLAS_AFFINE
from lesionkit.qc.features import FEATURES, binary_entropy, case_features, member_agreement, registration_quality
from lesionkit.qc.regions import Regions

SHAPE = (30, 30, 30)


def _cube(lo=10, hi=16, value=0.9, shape=SHAPE):
    p = np.full(shape, 0.01, np.float32)
    p[lo:hi, lo:hi, lo:hi] = value
    return p


def test_identical_members_agree_and_shifted_members_disagree():
    p = _cube()
    same = case_features(p, p >= 0.5, {"net1": p, "net1_flipped": p.copy()})
    assert same["members"] == 2 and same["member_dice"] == 1.0 and same["member_volume_cv"] == 0.0
    shifted = case_features(p, p >= 0.5, {"net1": p, "net1_flipped": np.roll(p, 3, axis=0)})
    assert shifted["member_dice"] == pytest.approx(0.5)  # 6×6×3 of 6×6×6 overlap
    grown = _cube(9, 17)
    cv = case_features(p, p >= 0.5, [p, grown])["member_volume_cv"]
    assert cv == pytest.approx(abs(512 - 216) / (512 + 216), abs=1e-6)  # std/mean of two values
    assert math.isnan(case_features(p, p >= 0.5)["member_dice"])  # no members: no agreement known


def test_members_are_thresholded_like_the_mask():
    p = _cube(value=0.4)
    low = case_features(p, p >= 0.3, [p, p * 0.5], threshold=0.3)
    assert low["member_dice"] == 0.0  # 0.2 < 0.3: the second member predicts nothing
    speck = p.copy()
    speck[2, 2, 2] = 0.9
    kept = member_agreement([speck >= 0.3, p >= 0.3])["member_dice"]
    assert kept < 1.0
    assert case_features(p, p >= 0.3, [speck, p], threshold=0.3, min_size_mm3=2)["member_dice"] == 1.0


def test_empty_members_agree():
    p = np.zeros(SHAPE, np.float32)
    out = case_features(p, p > 0, [p, p])
    assert out["member_dice"] == 1.0 and out["member_volume_cv"] == 0.0 and out["volume_mm3"] == 0
    assert math.isnan(out["entropy_lesion"]) and math.isnan(out["edge_share"])


def test_entropy_is_low_for_confident_and_high_for_uncertain_lesions():
    np.testing.assert_allclose(binary_entropy(np.array([0.0, 0.5, 1.0])), [0, 1, 0], atol=1e-5)
    sure = case_features(_cube(value=0.99), _cube() >= 0.5)
    unsure = case_features(_cube(value=0.55), _cube() >= 0.5)
    assert sure["entropy_lesion"] < 0.1 < 0.9 < unsure["entropy_lesion"]
    blurred = _cube(value=0.99)
    blurred[7:19, 7:19, 7:19] = np.maximum(blurred[7:19, 7:19, 7:19], 0.45)
    assert case_features(blurred, _cube() >= 0.5)["entropy_shell"] > 0.9 > 0.1 > sure["entropy_shell"]


def test_faint_signal_far_from_the_lesion_is_measured_in_mm3():
    p = _cube()
    p[25:27, 25:27, 25:27] = 0.3  # 8 voxels at 0.3 >= 0.5 / 2, far from the cube
    p[16, 12, 12] = 0.3  # next to the cube: boundary, not a faint candidate
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    out = case_features(p, _cube() >= 0.5, affine=affine)
    assert out["faint_mm3"] == 8 * 8.0 and out["volume_mm3"] == 216 * 8.0 and out["n_lesions"] == 1


def test_region_shares():
    edge = np.zeros(SHAPE, bool)
    edge[:13] = True
    outside = np.zeros(SHAPE, bool)
    ventricles = np.ones(SHAPE, bool)
    out = case_features(_cube(), _cube() >= 0.5, regions=Regions(edge, outside, ventricles))
    assert out["edge_share"] == pytest.approx(0.5) and out["outside_share"] == 0 and out["ventricle_share"] == 1


def test_template_regions_on_the_mni_grid_find_a_lesion_in_the_air():
    affine = ATLAS_AFFINE.copy()
    affine[:3, :3] *= 2
    shape = (99, 117, 95)
    p = np.zeros(shape, np.float32)
    p[2:5, 2:5, 2:5] = 0.9  # a corner of the field of view: air
    p[49:52, 70:73, 40:43] = 0.9  # deep in the brain, near nothing in particular
    mask = p >= 0.5
    out = case_features(p, mask, affine=affine)
    assert out["outside_share"] == pytest.approx(0.5) and out["edge_share"] >= 0.5
    assert case_features(p, mask)["outside_share"] != out["outside_share"] or math.isnan(
        case_features(p, mask)["outside_share"])  # an identity affine is no MNI grid: undefined


def test_registration_quality_is_read_from_the_preprocessing_step():
    good = registration_quality({"brain_ncc": {"start": 0.9, "final": 0.93},
                                 "initialisation_chosen": "search candidate 1/5"})
    assert good == {"registration_ncc": 0.93, "registration_fallback": 0.0}
    assert registration_quality({"brain_ncc": {"final": 0.5}, "initialisation_chosen": "rigid fallback"}) == {
        "registration_ncc": 0.5, "registration_fallback": 1.0}
    assert all(math.isnan(v) for v in registration_quality(None).values())


def test_every_feature_is_returned_in_order():
    assert list(case_features(_cube(), _cube() >= 0.5)) == list(FEATURES)
