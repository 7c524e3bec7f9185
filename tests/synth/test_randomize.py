import numpy as np
import pytest

from lesionkit.synth import SynthOptions, generate_subject
from lesionkit.synth.anatomy import Tissue
from lesionkit.synth.randomize import _thick_slices, apply_acquisition, brain_extraction, draw_acquisition


def test_acquisitions_span_the_wanted_ranges():
    draws = [draw_acquisition(np.random.default_rng(i)) for i in range(300)]
    snr = np.array([d.snr for d in draws])
    assert 5 <= snr.min() < 7 and 30 < snr.max() <= 40
    thick = np.array([d.slice_thickness for d in draws])
    assert 0.4 < np.mean(thick > 1) < 0.6 and 2.0 <= thick[thick > 1].min() and thick.max() <= 6.0
    assert {d.slice_axis for d in draws} == {0, 1, 2} and 0.2 < np.mean([d.bits8 for d in draws]) < 0.4
    gains = np.array([d.tissue_gain for d in draws])
    assert (gains[:, 4] == 1).all() and gains[:, 2].std() > 0.1  # cortex contrast varies, white matter is the unit


def test_thick_slices_lose_detail_along_their_axis_only():
    image = np.zeros((20, 20, 40), np.float32)
    image[..., ::2] = 1.0  # 1 mm stripes along the last axis
    thick = _thick_slices(image, 4.0, 2, 1.0, 0.0)
    assert thick.shape == image.shape
    assert thick.std(axis=2).mean() < 0.15 * image.std(axis=2).mean()
    np.testing.assert_allclose(_thick_slices(image, 4.0, 0, 1.0, 0.0), image, atol=1e-5)  # constant along axis 0


def test_8bit_storage_and_noise_level():
    acquisition = draw_acquisition(np.random.default_rng(0))
    flat = np.full((30, 30, 30), 0.87, np.float32)
    import dataclasses

    stored = apply_acquisition(np.random.default_rng(1), flat, dataclasses.replace(
        acquisition, bits8=True, bias_strength=0.0, gamma=1.0, slice_thickness=1.0, snr=10.0, rician=False), 1.0, 0.87)
    assert stored.max() <= 255 and np.array_equal(stored, np.rint(stored))
    assert 0.07 < stored.std() / stored.mean() < 0.13  # SNR 10


def test_brain_extraction_keeps_lesions():
    brain = np.zeros((20, 20, 20), bool)
    brain[5:15, 5:15, 5:15] = True
    mask = np.zeros_like(brain)
    mask[5:7, 5:7, 5:7] = True
    for seed in range(6):
        keep = brain_extraction(np.random.default_rng(seed), brain, mask, 1.0)
        assert keep[mask].all() and 0.5 * brain.sum() < keep.sum() < 2.5 * brain.sum()


@pytest.fixture(scope="module")
def stripped():
    return generate_subject(7, resolution=2, options=SynthOptions(randomize_contrast=True, skull_strip_share=1.0,
                                                                  lesion_free_share=1.0))


def test_brain_extracted_lesion_free_subject(stripped):
    assert stripped.brain_extracted and stripped.n_lesions == 0 and not stripped.mask.any()
    outside = ~np.isin(stripped.tissue, list(range(Tissue.CSF, Tissue.INFRA_WM + 1)))
    assert np.mean(stripped.t1w[outside] == 0) > 0.95  # scalp and skull gone
    assert stripped.acquisition is not None and 5 <= stripped.acquisition["snr"] <= 40


def test_randomized_contrast_differs_between_subjects():
    ratios = []
    for seed in (1, 2, 3):
        s = generate_subject(seed, resolution=2, options=SynthOptions(randomize_contrast=True))
        healthy = s.mask == 0
        wm = np.median(s.t1w[(s.tissue == Tissue.WM) & healthy])
        gm = np.median(s.t1w[(s.tissue == Tissue.CORTEX) & healthy])
        ratios.append(gm / wm)
    assert max(ratios) - min(ratios) > 0.05


def test_calibrated_acquisitions_are_mostly_1mm_research_scans_with_some_clinical_ones():
    draws = [draw_acquisition(np.random.default_rng(i), "calibrated") for i in range(600)]
    thick = np.array([d.slice_thickness for d in draws])
    snr = np.array([d.snr for d in draws])
    assert 0.55 < np.mean(thick == 1.0) < 0.8  # research 3D T1w (and older scans drawn at 1 mm)
    assert 0.1 < np.mean(thick >= 3.0) < 0.2 and thick.max() <= 5.0  # clinical 2D scans
    assert snr.min() >= 8.0 and snr.max() <= 40.0
    assert snr[thick >= 3.0].max() <= 15.0  # clinical scans are the noisy ones
    assert np.mean([d.bits8 for d in draws]) < 0.2
    gains = np.array([d.tissue_gain for d in draws])
    assert 0.03 < gains[:, 2].std() < 0.1  # milder contrast changes than the wide profile's σ 0.15


def test_options_refuse_an_unknown_acquisition_profile():
    with pytest.raises(ValueError, match="acquisition must be"):
        SynthOptions(acquisition="clinical")
    with pytest.raises(ValueError, match="small_lesion_share"):
        SynthOptions(small_lesion_share=1.5)
