import nibabel as nib
import numpy as np
import pytest

from lesionkit.io import ATLAS_AFFINE, ATLAS_SHAPE
from lesionkit.preprocess.resample import resample_world, to_mni, to_native
from tests.preprocess.native_case import rotation


def _transform(degrees=(40.0, -25.0, 70.0), shift=(5.0, -12.0, 9.0), scale=1.0) -> np.ndarray:
    out = np.eye(4)
    out[:3, :3] = rotation(degrees) * scale
    out[:3, 3] = shift
    return out


def _native_grid(spacing=(1.8, 1.8, 3.0)) -> nib.Nifti1Image:
    affine = np.eye(4)
    affine[:3, :3] = rotation((10, 0, 5)) @ np.diag([-spacing[0], -spacing[1], spacing[2]])
    shape = (60, 60, 36)
    affine[:3, 3] = -affine[:3, :3] @ (np.array(shape) / 2)
    return nib.Nifti1Image(np.zeros(shape, np.float32), affine)


def test_point_lands_where_the_transform_sends_it():
    ref = _native_grid()
    transform = _transform()
    data = np.zeros(ref.shape, np.float32)
    ijk = np.array([30, 25, 20])
    data[tuple(ijk)] = 1.0
    mni = to_mni(nib.Nifti1Image(data, ref.affine), transform, order=1)
    assert mni.shape == ATLAS_SHAPE and np.allclose(mni.affine, ATLAS_AFFINE)
    centre = np.array(np.unravel_index(np.argmax(np.asarray(mni.dataobj)), ATLAS_SHAPE))
    expected = np.linalg.inv(ATLAS_AFFINE) @ transform @ ref.affine @ np.r_[ijk, 1]
    assert np.linalg.norm(centre - expected[:3]) <= 1.8  # within one native voxel


def test_mask_round_trip_native_mni_native():
    ref = _native_grid()
    transform = _transform()
    ijk = np.indices(ref.shape).reshape(3, -1).T
    world = ijk @ ref.affine[:3, :3].T + ref.affine[:3, 3]
    ball = (np.linalg.norm(world - np.array([5.0, -8.0, 4.0]), axis=1) <= 15).reshape(ref.shape)  # ~14 cm³
    mask = nib.Nifti1Image(ball.astype(np.uint8), ref.affine)
    mni = to_mni(mask, transform, order=0)
    assert np.asarray(mni.dataobj).dtype == np.uint8
    volume_mni = int(np.asarray(mni.dataobj).sum())
    assert volume_mni == pytest.approx(ball.sum() * 1.8 * 1.8 * 3.0, rel=0.05)
    back = np.asarray(to_native(mni, transform, ref, order=1).dataobj) >= 0.5
    dice = 2 * (back & ball).sum() / (back.sum() + ball.sum())
    assert dice >= 0.95


def test_identity_on_the_same_grid_is_exact():
    img = nib.Nifti1Image(np.random.default_rng(0).random((8, 9, 10), dtype=np.float32), np.diag([2.0, 2, 2, 1]))
    out = resample_world(img, np.eye(4), img.shape, img.affine, order=1)
    np.testing.assert_allclose(np.asarray(out.dataobj), np.asarray(img.dataobj), atol=1e-5)
