import dataclasses

import numpy as np
import pytest
from nibabel.affines import voxel_sizes
from scipy import ndimage as ndi

from lesionkit.synth import ScannerProfile, generate_subject
from lesionkit.synth.native import read_transform, transform_json

THICK_LPS = ScannerProfile(name="R009", native_voxel=(0.9, 0.9, 3.0), slice_axis=2, native_lps=True)


def _back_to_mni(native: dict, mni_affine: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Resample the native mask onto the MNI grid with the saved transform (scipy, independent of the module)."""
    to_voxel = np.linalg.inv(native["affine"]) @ np.linalg.inv(native["to_mni"]) @ mni_affine
    ijk = np.indices(shape).reshape(3, -1).astype(float)
    coords = to_voxel[:3, :3] @ ijk + to_voxel[:3, 3:4]
    values = ndi.map_coordinates(native["mask"].astype(np.float32), coords, order=1, cval=0.0)
    return values.reshape(shape) >= 0.5


@pytest.fixture(scope="module")
def subject():
    return generate_subject(21, resolution=2, cohort_profile=THICK_LPS, native=True)


def test_native_grid_is_oblique_anisotropic_and_lps(subject):
    native = subject.native
    affine = native["affine"]
    zooms = voxel_sizes(affine)
    np.testing.assert_allclose(sorted(zooms), [1.8, 1.8, 6.0], atol=1e-6)  # scaled ×2 on the 2 mm grid
    directions = affine[:3, :3] / zooms
    assert np.abs(directions - np.diag(np.sign(np.diag(directions)))).max() > 0.05  # oblique
    assert directions[0, 0] < 0 and directions[1, 1] < 0  # stored LPS
    assert not np.allclose(native["to_mni"][:3, :3], np.eye(3), atol=1e-3)
    assert native["t1w"].dtype == np.float32 and native["mask"].dtype == np.uint8
    assert native["t1w"].shape == native["mask"].shape and native["mask"].any()


@pytest.mark.parametrize(("voxel", "min_dice"), [((0.9, 0.9, 3.0), 0.65), ((1.0, 1.0, 1.2), 0.85)])
def test_saved_transform_maps_native_mask_onto_mni_mask(voxel, min_dice):
    """Resampling twice (MNI → native → MNI) costs some Dice, more with thick slices, but stays high."""
    profile = dataclasses.replace(THICK_LPS, native_voxel=voxel)
    subject = generate_subject(21, resolution=2, cohort_profile=profile, native=True)
    matrix = read_transform_via_text(subject.native["to_mni"])
    native = dict(subject.native, to_mni=matrix)
    back = _back_to_mni(native, subject.affine, subject.mask.shape)
    truth = subject.mask.astype(bool)
    dice = 2 * (back & truth).sum() / (back.sum() + truth.sum())
    assert dice > min_dice
    # and the transform is not a no-op: ignoring it loses the lesion
    wrong = _back_to_mni(dict(native, to_mni=np.eye(4)), subject.affine, subject.mask.shape)
    assert 2 * (wrong & truth).sum() / (wrong.sum() + truth.sum()) < 0.5 * dice


def read_transform_via_text(matrix: np.ndarray) -> np.ndarray:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "xfm.json"
        path.write_text(transform_json(matrix))
        return read_transform(path)


def test_isotropic_profile_gives_isotropic_native_voxels():
    profile = dataclasses.replace(THICK_LPS, native_voxel=(1.0, 1.0, 1.2), native_lps=False)
    native = generate_subject(22, resolution=2, cohort_profile=profile, native=True).native
    zooms = voxel_sizes(native["affine"])
    np.testing.assert_allclose(sorted(zooms), [2.0, 2.0, 2.4], atol=1e-6)
    assert np.linalg.det(native["affine"][:3, :3]) > 0  # RAS-ordered axes keep a positive determinant


def _template_brain_dice(subject, matrix: np.ndarray) -> float:
    """Dice of the subject's brain and the template's brain pulled onto the subject grid through ``matrix``."""
    from lesionkit.synth.anatomy import Tissue, head_model

    model = head_model(subject.resolution)
    tissue = model.labels >> 5
    template_brain = ((tissue >= Tissue.CSF) & (tissue <= Tissue.INFRA_WM)).astype(np.float32)
    to_voxel = np.linalg.inv(model.affine) @ matrix @ subject.affine
    pulled = ndi.affine_transform(template_brain, to_voxel[:3, :3], offset=to_voxel[:3, 3], order=1) >= 0.5
    brain = subject.brain
    return 2 * float((pulled & brain).sum()) / float(pulled.sum() + brain.sum())


def test_anatomy_matrix_maps_the_subject_onto_the_template(subject):
    """to_template undoes the anatomy's affine part: the template brain then fits the subject's better than
    without it, and the composed native → template matrix is what the transform file says."""
    assert subject.native["to_template"] is subject.to_template
    scales = np.linalg.svd(subject.to_template[:3, :3], compute_uv=False)
    assert np.all(np.abs(scales - 1) <= 0.06) and not np.allclose(scales, 1, atol=1e-3)
    with_anatomy = _template_brain_dice(subject, subject.to_template)
    assert with_anatomy > _template_brain_dice(subject, np.eye(4)) + 0.01
    assert with_anatomy > 0.97  # what remains is the smooth residual warp (measured 0.984)

    import json
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "xfm.json"
        path.write_text(transform_json(subject.native["to_mni"], subject.to_template))
        assert json.loads(path.read_text())["Matrix"] == json.loads(transform_json(subject.native["to_mni"]))["Matrix"]
        np.testing.assert_allclose(read_transform(path, "AnatomyMatrix"), subject.to_template, atol=1e-7)
        np.testing.assert_allclose(read_transform(path, "NativeToTemplateMatrix"),
                                   subject.to_template @ subject.native["to_mni"], atol=1e-6)
