import gzip

import nibabel as nib
import numpy as np
import pytest
from nibabel.affines import voxel_sizes

from lesionkit.io import InvalidInputError
from lesionkit.preprocess.orient import as_image, as_mask, reorient_to_ras
from tests.preprocess.native_case import rotation


def _world_of_max(img: nib.Nifti1Image) -> np.ndarray:
    ijk = np.unravel_index(np.argmax(np.asarray(img.dataobj)), img.shape)
    return (img.affine @ np.r_[ijk, 1])[:3]


def _lps_oblique_image() -> nib.Nifti1Image:
    data = np.zeros((12, 14, 6), np.float32)
    data[3, 9, 4] = 5.0
    affine = np.eye(4)
    affine[:3, :3] = rotation((0, 12, 0)) @ np.diag([-0.9, -0.9, 3.0])  # LPS storage, oblique, thick slices
    affine[:3, 3] = (40, 20, -30)
    return nib.Nifti1Image(data, affine)


def test_reorient_lps_oblique_keeps_world_positions():
    img = _lps_oblique_image()
    ras = reorient_to_ras(img)
    assert nib.aff2axcodes(img.affine) == ("L", "P", "S")
    assert nib.aff2axcodes(ras.affine) == ("R", "A", "S")
    np.testing.assert_allclose(_world_of_max(ras), _world_of_max(img), atol=1e-6)
    assert voxel_sizes(ras.affine) == pytest.approx((0.9, 0.9, 3.0))
    assert np.asarray(ras.dataobj).sum() == pytest.approx(5.0)  # no interpolation


def test_sagittal_storage_is_permuted_to_ras():
    data = np.zeros((4, 5, 6), np.float32)
    affine = np.array([[0, 0, 1.0, 0], [1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 0, 1]])  # axes stored as A, S, R
    ras = reorient_to_ras(nib.Nifti1Image(data, affine))
    assert ras.shape == (6, 4, 5)
    assert nib.aff2axcodes(ras.affine) == ("R", "A", "S")


def test_singleton_fourth_axis_is_squeezed():
    img = nib.Nifti1Image(np.ones((5, 6, 7, 1), np.float32), np.eye(4))
    assert as_image(img).shape == (5, 6, 7)


def test_real_4d_is_refused():
    with pytest.raises(InvalidInputError, match="3-D"):
        as_image(nib.Nifti1Image(np.ones((5, 6, 7, 2), np.float32), np.eye(4)))


def test_nan_is_refused_in_memory_and_on_disk(tmp_path):
    data = np.ones((5, 6, 7), np.float32)
    data[1, 2, 3] = np.nan
    img = nib.Nifti1Image(data, np.eye(4))
    with pytest.raises(InvalidInputError, match="NaN"):
        as_image(img)
    nib.save(img, tmp_path / "nan.nii.gz")
    with pytest.raises(InvalidInputError, match="nan.nii.gz"):
        as_image(tmp_path / "nan.nii.gz")


def test_missing_and_truncated_files_are_refused(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        as_image(tmp_path / "missing.nii.gz")
    path = tmp_path / "t1.nii.gz"
    nib.save(nib.Nifti1Image(np.random.default_rng(0).random((20, 20, 20), dtype=np.float32), np.eye(4)), path)
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw)[: len(gzip.compress(raw)) // 2])
    with pytest.raises(InvalidInputError, match="truncated or corrupt"):
        as_image(path)


def test_mask_must_be_binary_and_on_the_grid():
    ref = nib.Nifti1Image(np.ones((5, 6, 7), np.float32), np.eye(4))
    labels = np.zeros((5, 6, 7), np.uint8)
    labels[1, 1, 1] = 2
    with pytest.raises(InvalidInputError, match="not binary"):
        as_mask(nib.Nifti1Image(labels, np.eye(4)), ref)
    shifted = np.eye(4)
    shifted[0, 3] = 2.0
    with pytest.raises(InvalidInputError, match="affine differs"):
        as_mask(nib.Nifti1Image(np.zeros((5, 6, 7), np.uint8), shifted), ref)
    with pytest.raises(InvalidInputError, match="shape"):
        as_mask(nib.Nifti1Image(np.zeros((5, 6, 8), np.uint8), np.eye(4)), ref)
    ok = as_mask(nib.Nifti1Image((labels > 0).astype(np.float32) * 255, np.eye(4)), ref)
    assert np.asarray(ok.dataobj).dtype == np.uint8 and int(np.asarray(ok.dataobj).sum()) == 1
