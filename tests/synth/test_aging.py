import numpy as np

from lesionkit.synth import SynthOptions, generate_subject
from lesionkit.synth.aging import age_anatomy, atrophy_of_age
from lesionkit.synth.anatomy import Tissue, head_model


def test_atrophy_rises_with_age():
    assert atrophy_of_age(25) == 0.0 and atrophy_of_age(85) == 1.0 and atrophy_of_age(90) == 1.0
    assert 0.4 < atrophy_of_age(57.5) < 0.6


def _aged(atrophy):
    model = head_model(2)
    image, labels = np.array(model.t1), np.array(model.labels)
    wmh = age_anatomy(np.random.default_rng(0), image, labels, np.array(model.periventricular), atrophy, 2.0,
                      model.csf_level)
    return image, labels >> 5, wmh


def test_older_brains_have_wider_sulci_larger_ventricles_thinner_cortex():
    model = head_model(2)
    young_image, young, young_wmh = _aged(0.0)
    old_image, old, old_wmh = _aged(1.0)
    np.testing.assert_array_equal(young, model.labels >> 5)  # atrophy 0 leaves the anatomy alone
    count = {name: lambda t, c=code: int((t == c).sum()) for name, code in
             (("csf", Tissue.CSF), ("ventricle", Tissue.VENTRICLE), ("cortex", Tissue.CORTEX), ("wm", Tissue.WM))}
    assert count["ventricle"](old) > 1.2 * count["ventricle"](young)
    assert count["csf"](old) > 1.15 * count["csf"](young)
    assert count["cortex"](old) < 0.95 * count["cortex"](young)
    # new CSF is CSF-dark in the image; white-matter hypointensity appears only with age, unlabelled
    grown = (old == Tissue.VENTRICLE) & (young == Tissue.WM)
    assert np.median(old_image[grown]) < 0.5 * np.median(young_image[grown])
    assert not young_wmh.any() and old_wmh.sum() > 50 and (old[old_wmh] == Tissue.WM).all()


def test_age_range_is_recorded_and_marks_lookalikes():
    subject = generate_subject(3, resolution=2, options=SynthOptions(age_range=(80.0, 85.0)))
    assert 80.0 <= subject.age <= 85.0
    aged_wm = (subject.lookalikes & 8).astype(bool)
    assert aged_wm.any() and not (aged_wm & subject.mask.astype(bool)).any()
    young = generate_subject(3, resolution=2, options=SynthOptions(age_range=(20.0, 25.0)))
    assert (subject.tissue == Tissue.VENTRICLE).sum() > 1.3 * (young.tissue == Tissue.VENTRICLE).sum()
