import numpy as np
import pytest
from scipy import ndimage as ndi

from lesionkit.synth import ScannerProfile, SyntheticSubject, generate_subject
from lesionkit.synth.anatomy import grid_affine, grid_shape


@pytest.fixture(scope="module")
def subject() -> SyntheticSubject:
    return generate_subject(3, resolution=2)


def test_same_seed_gives_identical_arrays(subject):
    again = generate_subject(3, resolution=2)
    assert np.array_equal(subject.t1w, again.t1w)
    assert np.array_equal(subject.mask, again.mask)
    assert subject.lesions == again.lesions


def test_different_seed_differs(subject):
    other = generate_subject(4, resolution=2)
    assert not np.array_equal(subject.mask, other.mask)
    assert np.abs(subject.t1w - other.t1w).mean() > 1.0


def test_grid_dtype_and_affine_at_2mm(subject):
    assert grid_shape(2) == (99, 117, 95)
    assert subject.t1w.shape == subject.mask.shape == (99, 117, 95)
    assert subject.t1w.dtype == np.float32 and subject.mask.dtype == np.uint8
    assert set(np.unique(subject.mask)) <= {0, 1}
    np.testing.assert_allclose(subject.affine, grid_affine(2))
    np.testing.assert_allclose(subject.affine @ [98, 116, 94, 1], [98, 98, 116, 1])  # same field of view as 1 mm
    assert np.isfinite(subject.t1w).all() and subject.t1w.min() >= 0


@pytest.mark.parametrize("seed", [3, 11, 12, 13])
def test_mask_components_match_metadata(seed):
    subject = generate_subject(seed, resolution=2)
    labels, n = ndi.label(subject.mask)  # 6-connectivity, as the ATLAS evaluation counts lesions
    assert n == subject.n_lesions == len(subject.lesions) >= 1
    volumes = sorted(float(v) * 8.0 for v in np.bincount(labels.ravel())[1:])
    assert volumes == sorted(lesion["volume_mm3"] for lesion in subject.lesions)
    np.testing.assert_array_equal(subject.mask, subject.lesion_labels > 0)
    for lesion in subject.lesions:
        assert lesion["hemisphere"] in ("left", "right")
        assert lesion["location"] in ("subcortical", "cortical", "other")
        assert (lesion["centroid_mm"][0] < 0) == (lesion["hemisphere"] == "left")


def test_lesions_are_darker_than_white_matter(subject):
    """Chronic lesions are T1-hypointense: their core is near CSF, far below white matter."""
    from lesionkit.synth.anatomy import Tissue

    healthy_wm = (subject.tissue == Tissue.WM) & (subject.mask == 0) & (subject.lookalikes == 0)
    wm_ref = np.median(subject.t1w[healthy_wm])
    core = ndi.binary_erosion(subject.mask.astype(bool))
    region = core if core.any() else subject.mask.astype(bool)
    assert np.median(subject.t1w[region]) < 0.6 * wm_ref


def test_lookalikes_are_dark_but_unlabelled(subject):
    from lesionkit.synth.anatomy import Tissue

    lesion = subject.mask.astype(bool)
    healthy_wm = (subject.tissue == Tissue.WM) & ~lesion & (subject.lookalikes == 0)
    wm_ref = np.median(subject.t1w[healthy_wm])
    for bit in (1, 2, 4):  # perivascular spaces, periventricular caps, enlarged sulci
        region = (subject.lookalikes & bit).astype(bool)
        assert region.sum() > 10, bit
        assert not (region & lesion).any(), bit
        assert np.median(subject.t1w[region]) < wm_ref, bit
    assert subject.brain.sum() > 0.5 * (subject.tissue > 0).sum() * 0.5
    assert not (subject.brain & (subject.tissue == Tissue.SCALP)).any()


def test_profile_sets_intensity_scale():
    low = generate_subject(5, resolution=2, cohort_profile=ScannerProfile(intensity_scale=1000.0))
    high = generate_subject(5, resolution=2, cohort_profile=ScannerProfile(intensity_scale=4000.0))
    np.testing.assert_array_equal(low.mask, high.mask)
    ratio = np.median(high.t1w[high.t1w > 0]) / np.median(low.t1w[low.t1w > 0])
    assert 3.5 < ratio < 4.5
