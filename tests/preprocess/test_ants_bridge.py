import nibabel as nib
import numpy as np
import pytest

from lesionkit.preprocess.ants_bridge import (
    LPS,
    ants_to_nib,
    ants_transform_from_matrix,
    matrix_from_ants_transform,
    nib_to_ants,
)
from lesionkit.preprocess.resample import resample_world
from tests.preprocess.native_case import rotation

ants = pytest.importorskip("ants")


def _oblique_affine() -> np.ndarray:
    affine = np.eye(4)
    affine[:3, :3] = rotation((20, -10, 35)) @ np.diag([-0.9, -0.9, 3.0])
    affine[:3, 3] = (30.0, -12.0, 5.0)
    return affine


def _matrix() -> np.ndarray:
    out = np.eye(4)
    out[:3, :3] = rotation((30, 10, -50)) @ np.diag([1.05, 0.95, 1.0])
    out[:3, 3] = (4.0, -7.0, 11.0)
    return out


def test_image_geometry_round_trip():
    img = nib.Nifti1Image(np.random.default_rng(0).random((9, 10, 11), dtype=np.float32), _oblique_affine())
    image = nib_to_ants(img)
    np.testing.assert_allclose(image.spacing, (0.9, 0.9, 3.0), atol=1e-6)
    # ANTs stores LPS: the origin is the RAS translation with x and y negated.
    np.testing.assert_allclose(image.origin, (-30.0, 12.0, 5.0), atol=1e-6)
    back = ants_to_nib(image)
    np.testing.assert_allclose(back.affine, img.affine, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(back.dataobj), np.asarray(img.dataobj))


def test_transform_matrix_round_trip_and_point_convention():
    matrix = _matrix()
    transform = ants_transform_from_matrix(matrix)
    np.testing.assert_allclose(matrix_from_ants_transform(transform), matrix, atol=1e-6)
    # The ITK transform maps fixed (target) points to moving (source) points: the inverse point map, in LPS.
    point = np.array([10.0, 20.0, 30.0, 1.0])
    moved = np.r_[transform.apply_to_point((LPS @ point)[:3].tolist()), 1.0]
    np.testing.assert_allclose((LPS @ moved)[:3], (np.linalg.inv(matrix) @ point)[:3], atol=1e-4)


def test_ants_apply_transforms_agrees_with_resample_world():
    rng = np.random.default_rng(1)
    from scipy import ndimage

    data = ndimage.gaussian_filter(rng.random((30, 32, 28)).astype(np.float32), 2)
    affine = _oblique_affine() @ np.diag([2.0, 2.0, 1.0, 1.0])
    affine[:3, 3] = -affine[:3, :3] @ ((np.array(data.shape) - 1) / 2)  # centred on the world origin
    source = nib.Nifti1Image(data, affine)
    target_affine = np.diag([2.0, 2.0, 2.0, 1.0])
    target_affine[:3, 3] = (-30.0, -30.0, -30.0)
    target = nib.Nifti1Image(np.zeros((30, 30, 30), np.float32), target_affine)
    matrix = _matrix()
    ours = np.asarray(resample_world(source, matrix, target.shape, target.affine, order=1).dataobj)
    transform = ants_transform_from_matrix(matrix)
    theirs = transform.apply_to_image(nib_to_ants(source), reference=nib_to_ants(target), interpolation="linear")
    theirs = np.asarray(ants_to_nib(theirs).dataobj)
    inside = (ours > 0) & (theirs > 0)
    assert inside.sum() > 1000
    np.testing.assert_allclose(ours[inside], theirs[inside], atol=2e-3)
