import nibabel as nib
import numpy as np
import pytest

from lesionkit.io import InvalidInputError
from lesionkit.preprocess.intensity import standardize_wm_peak, white_matter_peak


def _tissue_image(wm: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A 'brain' that is 45 % WM, 40 % GM, 10 % CSF, 5 % lesion core, with noise."""
    n = 42_000
    classes = rng.choice(4, size=n, p=[0.45, 0.40, 0.10, 0.05])
    means = np.array([wm, 0.7 * wm, 0.2 * wm, 0.3 * wm])
    values = means[classes] + rng.normal(0, 0.04 * wm, n)
    data = np.zeros((50, 40, 40), np.float32)
    brain = np.zeros(data.shape, bool)
    brain[5:45, 5:35, 5:40] = True
    data[brain] = values[: brain.sum()].astype(np.float32)
    return data, brain


@pytest.mark.parametrize("wm", [1.0, 730.0, 2.5e4])
def test_peak_is_white_matter_at_any_scale(wm):
    data, brain = _tissue_image(wm, np.random.default_rng(0))
    assert white_matter_peak(data, brain) == pytest.approx(wm, rel=0.03)


def test_standardised_image_has_unit_wm_and_no_negatives():
    data, brain = _tissue_image(640.0, np.random.default_rng(1))
    data[0, 0, 0] = -20.0
    out, peak = standardize_wm_peak(nib.Nifti1Image(data, np.eye(4)), brain)
    values = np.asarray(out.dataobj)
    assert peak == pytest.approx(640.0, rel=0.03)
    assert values.min() == 0.0
    assert np.median(values[brain][values[brain] > 0.85]) == pytest.approx(1.0, abs=0.05)


def test_empty_brain_is_refused():
    with pytest.raises(InvalidInputError, match="brain mask"):
        white_matter_peak(np.ones((5, 5, 5)), np.zeros((5, 5, 5), bool))
