from types import SimpleNamespace

import nibabel as nib
import numpy as np
import pytest

import lesionkit.model
import lesionkit.pipeline.segment as segment_module
from lesionkit.io import ATLAS_AFFINE, ATLAS_SHAPE, MNI_SPACE, load_template
from lesionkit.pipeline import is_mni_grid, segment_t1w
from tests.pipeline._data import AFFINE_2MM, SHAPE_2MM

MODEL = SimpleNamespace(threshold=0.5, min_size_mm3=0.0)


def _cube_probability(model, image, tta=False):
    """A stand-in for the network: 0.9 in a 4-voxel cube around MNI (10, -20, 6) mm, else 0.05."""
    data = np.full(image.shape, 0.05, np.float32)
    ijk = np.rint(np.linalg.inv(image.affine) @ [10.0, -20.0, 6.0, 1.0])[:3].astype(int)
    data[tuple(slice(i - 2, i + 2) for i in ijk)] = 0.9
    return nib.Nifti1Image(data, image.affine)


def test_mni_grids_are_recognised():
    assert is_mni_grid(nib.Nifti1Image(np.zeros(ATLAS_SHAPE, np.uint8), ATLAS_AFFINE))
    assert is_mni_grid(nib.Nifti1Image(np.zeros(SHAPE_2MM, np.uint8), AFFINE_2MM))
    shifted = AFFINE_2MM.copy()
    shifted[0, 3] += 1.0
    assert not is_mni_grid(nib.Nifti1Image(np.zeros(SHAPE_2MM, np.uint8), shifted))
    assert not is_mni_grid(nib.Nifti1Image(np.zeros((20, 20, 20), np.uint8), np.eye(4)))


def test_mni_input_is_segmented_on_its_own_grid(monkeypatch):
    monkeypatch.setattr(lesionkit.model, "segment", _cube_probability)
    monkeypatch.setattr(segment_module, "_preprocess", lambda image: pytest.fail("MNI input was preprocessed"))
    image = nib.Nifti1Image(np.ones(SHAPE_2MM, np.float32), AFFINE_2MM)
    result = segment_t1w(image, MODEL)
    assert result.space == MNI_SPACE and result.preprocessing is None
    assert result.probability.shape == SHAPE_2MM
    np.testing.assert_array_equal(result.probability.affine, AFFINE_2MM)
    assert int(np.asarray(result.mask.dataobj).sum()) == 64 and result.mask.get_data_dtype() == np.uint8
    assert result.mask.header.get_xyzt_units()[0] == "mm"
    assert result.probability_mni is result.probability
    # min_size is in mm³: the cube is 64 voxels of 8 mm³ = 512 mm³
    assert np.asarray(segment_t1w(image, MODEL, min_size_mm3=513).mask.dataobj).sum() == 0
    assert np.asarray(segment_t1w(image, MODEL, min_size_mm3=512).mask.dataobj).sum() == 64
    assert np.asarray(segment_t1w(image, MODEL, threshold=0.95).mask.dataobj).sum() == 0


def test_native_input_is_preprocessed_segmented_in_mni_and_mapped_back(monkeypatch):
    # A native grid of 1.5 mm voxels, 30 mm to the right of MNI's origin in world space; the "registration"
    # is a pure 30 mm shift, so MNI point p is native point p + 30 mm in x.
    native_affine = np.diag([1.5, 1.5, 1.5, 1.0])
    native_affine[:3, 3] = [-60.0, -80.0, -50.0]
    image = nib.Nifti1Image(np.ones((90, 100, 80), np.float32), native_affine)
    to_mni = np.eye(4)
    to_mni[0, 3] = -30.0
    calls = []

    def fake_preprocess(img):
        calls.append(img.shape)
        mni = nib.Nifti1Image(np.ones(ATLAS_SHAPE, np.float32), ATLAS_AFFINE)
        return SimpleNamespace(t1w_mni=mni, transform=to_mni)

    monkeypatch.setattr(lesionkit.model, "segment", _cube_probability)
    monkeypatch.setattr(segment_module, "_preprocess", fake_preprocess)
    result = segment_t1w(image, MODEL)
    assert calls == [(90, 100, 80)] and result.space == "orig"
    assert result.probability.shape == (90, 100, 80) and result.mask.shape == (90, 100, 80)
    np.testing.assert_array_equal(result.mask.affine, native_affine)
    assert result.probability_mni.shape == ATLAS_SHAPE and int(np.asarray(result.mask_mni.dataobj).sum()) == 64
    mask = np.asarray(result.mask.dataobj).astype(bool)
    centre = native_affine @ [*np.argwhere(mask).mean(axis=0), 1.0]
    np.testing.assert_allclose(centre[:3], [10.0 + 30.0 - 0.5, -20.0 - 0.5, 6.0 - 0.5], atol=1.0)
    # 64 mm³ of cube at 1 mm in MNI is ≈ 64 / 3.375 native voxels
    assert 10 <= mask.sum() <= 30


def test_qc_features_come_from_the_mni_grid_and_the_registration_record(monkeypatch):
    def members(model, image, tta=False):
        probability = _cube_probability(model, image)
        data = np.asarray(probability.dataobj)
        return probability, {"net1": data, "net1_flipped": np.roll(data, 2, axis=0)}

    template_like = np.asarray(load_template("t1").dataobj, dtype=np.float32)
    steps = [{"name": "reorient", "parameters": {"input_voxel_size_mm": [1.0, 1.0, 3.0]}},
             {"name": "registration", "parameters": {"brain_ncc": {"start": 0.6, "final": 0.55},
                                                     "initialisation_chosen": "search candidate 2/5"}}]
    fake = SimpleNamespace(t1w_mni=nib.Nifti1Image(template_like, ATLAS_AFFINE), transform=np.eye(4), steps=steps)
    monkeypatch.setattr(lesionkit.model, "segment_members", members)
    monkeypatch.setattr(lesionkit.model, "segment", _cube_probability)
    monkeypatch.setattr(segment_module, "_preprocess", lambda image: fake)
    native = nib.Nifti1Image(np.ones((60, 70, 50), np.float32), np.diag([3.0, 3.0, 3.0, 1.0]))
    result = segment_t1w(native, MODEL, qc=True)
    features = result.qc["features"]
    assert result.qc["members"] == ["net1", "net1_flipped"] and features["member_dice"] == 0.5
    assert features["volume_mm3"] == 64 and features["registration_ncc"] == 0.55
    assert features["registration_fallback"] == 0 and features["template_ncc"] > 0.99  # the template itself
    assert features["slice_thickness_mm"] == 3.0  # the native voxel size the preprocessing recorded
    assert features["gm_wm_contrast"] < 0.9 and features["snr_wm"] > 20  # the template: clean, grey darker
    assert segment_t1w(native, MODEL).qc is None  # QC is asked for, not implied
