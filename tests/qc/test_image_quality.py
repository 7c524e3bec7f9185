import math

import numpy as np
import pytest
from scipy import ndimage

from lesionkit.qc.features import case_features
from lesionkit.qc.image_quality import (
    IMAGE_FEATURES,
    MAX_SNR,
    THICKNESS_TABLE,
    axis_curvature,
    image_quality,
    recorded_slice_thickness,
    slice_anisotropy,
    thickness_from_anisotropy,
    wm_snr,
)
from lesionkit.qc.regions import Regions
from lesionkit.synth.randomize import _thick_slices

SHAPE = (40, 40, 40)


def _anatomy(seed=0, shape=SHAPE):
    """A 'head': smooth random tissue (grey 0.7, white 1.0 in two halves), a small texture, a brain box."""
    rng = np.random.default_rng(seed)
    texture = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), 1.5)
    image = np.where(np.arange(shape[0])[:, None, None] < shape[0] // 2, 1.0, 0.7).astype(np.float32)
    image = image * (1 + 0.03 * np.broadcast_to(image, shape)) + 0.3 * texture / texture.std()
    wm = np.zeros(shape, bool)
    wm[4:18, 4:-4, 4:-4] = True
    gm = np.zeros(shape, bool)
    gm[22:-4, 4:-4, 4:-4] = True
    brain = np.zeros(shape, bool)
    brain[2:-2, 2:-2, 2:-2] = True
    edge = ~ndimage.binary_erosion(brain, iterations=2)
    return image, Regions(edge=edge, outside=~brain, ventricles=np.zeros(shape, bool), brain=brain, wm=wm, gm=gm)


def _white_matter(seed, snr, shape=SHAPE):
    rng = np.random.default_rng(seed)
    level = 300.0  # any intensity scale
    smooth = level * (1 + 0.02 * ndimage.gaussian_filter(rng.standard_normal(shape), 4))
    return (smooth + rng.normal(0, level / snr, shape)).astype(np.float32)


@pytest.mark.parametrize("snr", [5.0, 12.0, 30.0])
def test_snr_reads_the_noise_level_of_white_matter(snr):
    wm = np.zeros(SHAPE, bool)
    wm[5:-5, 5:-5, 5:-5] = True
    level, read = wm_snr(_white_matter(1, snr), wm)
    assert level == pytest.approx(300, rel=0.01)
    assert read == pytest.approx(snr, rel=0.03)


def test_snr_leaves_the_lesion_out_and_is_capped_without_noise():
    wm = np.zeros(SHAPE, bool)
    wm[5:-5, 5:-5, 5:-5] = True
    image = _white_matter(2, 20)
    lesion = np.zeros(SHAPE, bool)
    lesion[5:-5, 5:-5, 5:14] = True  # a dark lesion over a third of the white matter
    image[lesion] *= 0.3
    assert wm_snr(image, wm, exclude=lesion)[1] == pytest.approx(20, rel=0.1)
    assert wm_snr(np.full(SHAPE, 5.0, np.float32), wm)[1] == MAX_SNR
    assert all(math.isnan(v) for v in wm_snr(image, np.zeros(SHAPE, bool)))


def test_snr_matches_the_generator_noise_on_a_synthetic_scan():
    """The generator's SNR is the white-matter level over the noise σ (lesionkit.synth.randomize)."""
    image, regions = _anatomy()
    rng = np.random.default_rng(3)
    for snr in (5.0, 10.0):  # the toy anatomy's texture alone reads about 30
        noisy = (image + rng.normal(0, 1 / snr, SHAPE)).astype(np.float32) * 1000
        assert image_quality(noisy, regions)["snr_wm"] == pytest.approx(snr, rel=0.08)


def test_contrast_is_grey_over_white():
    image, regions = _anatomy()
    flat = np.where(regions.gm, image * 1.25, image)  # grey raised towards white
    sharp, dull = image_quality(image, regions)["gm_wm_contrast"], image_quality(flat, regions)["gm_wm_contrast"]
    assert sharp == pytest.approx(0.7, abs=0.05)
    assert dull == pytest.approx(1.25 * sharp, rel=0.02)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_a_volume_blurred_along_one_axis_reads_thicker(axis):
    image, regions = _anatomy(seed=4, shape=(48, 48, 48))
    rng = np.random.default_rng(5)
    noise = rng.normal(0, 0.05, image.shape).astype(np.float32)  # white noise after the slices cancels
    iso = image_quality(image + noise, regions)["slice_thickness_mm"]
    thick = image_quality(_thick_slices(image, 4.0, axis, 1.0, 0.3) + noise, regions)["slice_thickness_mm"]
    assert iso < 1.5 < 2.5 < thick
    curvature = axis_curvature(_thick_slices(image, 4.0, axis, 1.0, 0.3), regions.brain & ~regions.edge)
    assert int(np.argmax(curvature)) == axis
    assert slice_anisotropy(curvature)[1] == axis


def test_thickness_is_in_the_voxel_size_of_the_grid():
    image, regions = _anatomy(seed=4, shape=(48, 48, 48))
    blurred = _thick_slices(image, 4.0, 2, 1.0, 0.3)
    one = image_quality(blurred, regions)["slice_thickness_mm"]
    assert image_quality(blurred, regions, spacing=(2, 2, 2))["slice_thickness_mm"] == pytest.approx(2 * one)


def test_thickness_table_is_monotone_and_clamped():
    a, t = np.array(THICKNESS_TABLE).T
    assert (np.diff(a) > 0).all() and (np.diff(t) > 0).all()
    assert thickness_from_anisotropy(0.9) == 1.0
    assert thickness_from_anisotropy(a[3]) == pytest.approx(t[3])
    assert t[-1] < thickness_from_anisotropy(a[-1] + 0.05) <= 10.0
    assert math.isnan(thickness_from_anisotropy(math.nan))
    assert slice_anisotropy([1.2, 1.0, math.nan]) == (pytest.approx(math.nan, nan_ok=True), -1)
    # divided by the template's own ratios: an anatomy that is smoother along y is not a thick slice
    assert slice_anisotropy([1.0, 1.3, 1.0], reference=[1.0, 1.3, 1.0])[0] == pytest.approx(1.0)


def test_the_recorded_voxel_size_wins():
    image, regions = _anatomy(seed=4, shape=(48, 48, 48))
    assert recorded_slice_thickness({"input_voxel_size_mm": [0.9, 0.9, 5.0]}) == 5.0
    assert math.isnan(recorded_slice_thickness({})) and math.isnan(recorded_slice_thickness(None))
    assert math.isnan(recorded_slice_thickness({"input_voxel_size_mm": ["x"]}))
    out = image_quality(image, regions, recorded_thickness_mm=5.0)
    assert out["slice_thickness_mm"] == 5.0
    assert image_quality(None, None, recorded_thickness_mm=3.0)["slice_thickness_mm"] == 3.0


def test_case_features_carry_the_image_quality():
    image, regions = _anatomy()
    mask = np.zeros(SHAPE, bool)
    mask[8:12, 8:12, 8:12] = True
    out = case_features(mask * 0.9, mask, regions=regions, image=image * 100,
                        reorient={"input_voxel_size_mm": [1.0, 1.0, 3.0]})
    assert out["gm_wm_contrast"] == pytest.approx(0.7, abs=0.05)
    assert out["slice_thickness_mm"] == 3.0 and out["snr_wm"] > 5
    assert all(math.isnan(case_features(mask * 0.9, mask, regions=regions)[n]) for n in IMAGE_FEATURES)
