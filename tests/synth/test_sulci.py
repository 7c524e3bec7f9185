import dataclasses

import numpy as np
import pytest

from lesionkit.synth import PRESETS, generate_subject
from lesionkit.synth.anatomy import Tissue, head_model
from lesionkit.synth.sulci import medial_sheet, open_sulci, sulcal_fundi


def _banks(gap: int, both: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """White-matter slabs on either side of a ``gap``-voxel layer of grey (one slab with ``both=False``)."""
    white = np.zeros((20, 20, 20), dtype=bool)
    white[:, :, :6] = True
    if both:
        white[:, :, 6 + gap:] = True
    return white, ~white


def test_the_medial_sheet_lies_midway_between_facing_banks_and_a_lone_surface_has_none():
    white, grey = _banks(gap=7)
    sheet = medial_sheet(white, grey)
    planes = np.unique(np.nonzero(sheet)[2])
    assert sheet[3:-3, 3:-3].any() and set(planes) <= {8, 9, 10}  # the middle of voxels 6..12
    assert not medial_sheet(*_banks(gap=7, both=False))[3:-3, 3:-3].any()


def test_the_template_sulci_are_found_in_cortex_and_csf_on_both_sides():
    fundi = sulcal_fundi(2.0)
    model = head_model(2.0)
    tissue = model.labels >> 5
    assert fundi.shape == tissue.shape and not fundi.flags.writeable
    assert 0.0 <= fundi.min() and fundi.max() <= 1.0
    marked = fundi > 0.2
    in_place = np.isin(tissue[marked], (Tissue.CORTEX, Tissue.CSF)).mean()
    assert in_place > 0.9  # sulci, not white matter, ventricles or the skull
    cortex = tissue == Tissue.CORTEX
    assert 0.05 < (marked & cortex).sum() / cortex.sum() < 0.5
    half = fundi.shape[0] // 2  # the symmetric template has as many sulci on the left as on the right
    left, right = fundi[:half].sum(), fundi[-half:].sum()
    assert abs(left - right) / (left + right) < 0.1


def test_open_sulci_darkens_towards_csf_and_relabels_the_clefts():
    model = head_model(2.0)
    image, labels = model.t1.copy(), model.labels.copy()
    fundi = sulcal_fundi(2.0)
    changed = open_sulci(np.random.default_rng(0), image, labels, fundi, 1.0, 2.0, model.csf_level)
    assert changed.any() and np.all(image <= model.t1)  # never brightens
    assert image[changed].mean() < model.t1[changed].mean() - 0.05
    relabelled = labels != model.labels
    assert relabelled.any() and np.all((model.labels[relabelled] >> 5) == Tissue.CORTEX)
    assert np.all((labels[relabelled] >> 5) == Tissue.CSF)
    assert np.array_equal(labels[relabelled] & 31, model.labels[relabelled] & 31)  # territories kept
    untouched = ~np.isin(model.labels >> 5, (Tissue.CORTEX, Tissue.CSF))
    assert np.array_equal(image[untouched], model.t1[untouched])
    image2, labels2 = model.t1.copy(), model.labels.copy()
    assert not open_sulci(np.random.default_rng(0), image2, labels2, fundi, 0.0, 2.0, model.csf_level).any()
    assert np.array_equal(image2, model.t1)


def test_a_subject_with_sulcal_csf_keeps_the_rest_of_its_draw():
    options = PRESETS["realistic"]
    plain = generate_subject(5, 2.0, options=options)
    opened = generate_subject(5, 2.0, options=dataclasses.replace(options, sulcal_csf=1.0))
    assert np.array_equal(plain.mask, opened.mask) and plain.lesions == opened.lesions
    assert plain.acquisition == opened.acquisition and plain.age == opened.age
    sheet = (sulcal_fundi(2.0) > 0.3) & (plain.tissue == Tissue.CORTEX) & (plain.mask == 0)
    assert sheet.sum() > 100
    assert opened.t1w[sheet].mean() < plain.t1w[sheet].mean()
    assert (opened.tissue == Tissue.CSF).sum() > (plain.tissue == Tissue.CSF).sum()


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_sulcal_csf_outside_0_1_is_refused(bad):
    with pytest.raises(ValueError, match="^sulcal_csf must be"):
        dataclasses.replace(PRESETS["realistic"], sulcal_csf=bad)
