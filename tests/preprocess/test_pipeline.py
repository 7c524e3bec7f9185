import nibabel as nib
import numpy as np
import pytest

from lesionkit.io import InvalidInputError
from lesionkit.preprocess.pipeline import STEP_NAMES, preprocess_t1w
from lesionkit.preprocess.resample import to_native
from tests.preprocess.native_case import make_native_case


def _t1(shape=(20, 20, 20)) -> nib.Nifti1Image:
    return nib.Nifti1Image(np.random.default_rng(0).random(shape, dtype=np.float32), np.eye(4))


@pytest.mark.parametrize(
    "mask, match",
    [
        (nib.Nifti1Image(np.full((20, 20, 20), 3, np.uint8), np.eye(4)), "not binary"),
        (nib.Nifti1Image(np.zeros((20, 20, 21), np.uint8), np.eye(4)), "shape"),
        (nib.Nifti1Image(np.zeros((20, 20, 20), np.uint8), np.diag([2.0, 1, 1, 1])), "affine differs"),
    ],
)
def test_bad_masks_are_refused_before_any_work(mask, match):
    steps = []
    with pytest.raises(InvalidInputError, match=match):
        preprocess_t1w(_t1(), mask, progress=lambda name, i, n: steps.append(name))
    assert steps == ["reorient"]


def test_constant_image_is_refused():
    with pytest.raises(InvalidInputError, match="constant"):
        preprocess_t1w(nib.Nifti1Image(np.zeros((20, 20, 20), np.float32), np.eye(4)))


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        preprocess_t1w(tmp_path / "nope.nii.gz")


def _accuracy(case, result):
    brain = np.argwhere(case.brain)
    world = np.c_[brain, np.ones(len(brain))] @ case.t1w.affine.T
    error = np.linalg.norm((world @ result.transform.T - world @ case.transform.T)[:, :3], axis=1).mean()
    lesion = np.asarray(case.mask.dataobj) > 0
    back = np.asarray(to_native(result.mask_mni, result.transform, case.t1w, order=1).dataobj) >= 0.5
    dice = 2 * (back & lesion).sum() / (back.sum() + lesion.sum())
    return error, dice


@pytest.mark.slow
@pytest.mark.parametrize(
    "spacing, angles", [((0.9, 0.9, 3.0), (35.0, -20.0, 50.0)), ((1.0, 1.0, 1.0), (80.0, 10.0, -30.0))]
)
def test_full_pipeline_accuracy_at_full_resolution(spacing, angles):
    """Oblique, LPS-stored, large rotation: ≤ 2 mm mean brain error and lesion round-trip Dice ≥ 0.9."""
    case = make_native_case(spacing=spacing, angles=angles, lesion_radius=8.0)  # ~2,100 mm³
    steps = []
    result = preprocess_t1w(case.t1w, case.mask, progress=lambda name, i, n: steps.append(name))
    assert tuple(steps) == STEP_NAMES
    assert [s["name"] for s in result.steps] == list(STEP_NAMES)
    assert result.t1w_mni.shape == (197, 233, 189) and np.asarray(result.t1w_mni.dataobj).dtype == np.float32
    assert np.asarray(result.mask_mni.dataobj).dtype == np.uint8
    error, dice = _accuracy(case, result)
    assert error <= 2.0
    assert dice >= 0.9
    # White matter is ~1 after standardisation.
    wm = np.asarray(result.t1w_mni.dataobj)[np.asarray(result.brain_mask_mni.dataobj) > 0]
    assert 0.85 < np.percentile(wm, 90) < 1.2
