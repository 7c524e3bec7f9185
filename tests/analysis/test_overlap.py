import nibabel as nib
import numpy as np
import pytest

from lesionkit.analysis.overlap import overlap_maps
from lesionkit.io import Case, InvalidInputError, save_nifti


def _random_masks(seed: int, n: int, shape=(9, 11, 7)) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    masks = [(rng.random(shape) < rng.uniform(0.0, 0.4)).astype(np.uint8) for _ in range(n)]
    masks[0][:] = 0  # an empty mask is valid and counts as a subject
    return masks


@pytest.mark.parametrize("seed", range(8))
def test_overlap_sums_to_mean_lesion_volume(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(1, 12))
    zooms = rng.uniform(0.5, 2.5, size=3)
    affine = np.diag([*zooms, 1.0])
    affine[:3, 3] = rng.uniform(-50, 50, size=3)
    masks = _random_masks(seed, n)
    images = (nib.Nifti1Image(m, affine) for m in masks)  # a generator: consumed once, one at a time
    count, share = overlap_maps(images)
    voxel = float(np.prod(zooms))
    total_volume = sum(int(m.sum()) for m in masks) * voxel
    assert np.asanyarray(share.dataobj).sum(dtype=np.float64) * voxel == pytest.approx(total_volume / n, rel=1e-6)
    assert np.array_equal(np.asanyarray(count.dataobj), np.sum(masks, axis=0))
    assert count.get_data_dtype() == np.uint16 and share.get_data_dtype() == np.float32
    assert np.array_equal(count.affine, affine) and np.array_equal(share.affine, affine)
    assert np.asanyarray(share.dataobj).max() <= 1.0


def test_progress_is_reported_per_mask():
    seen = []
    overlap_maps([nib.Nifti1Image(m, np.eye(4)) for m in _random_masks(1, 3)], progress=seen.append)
    assert seen == [1, 2, 3]


def test_files_and_r11_cases(tmp_path):
    a = np.zeros((6, 6, 6), np.uint8)
    a[1:3, 1:3, 1:3] = 1
    b = np.zeros_like(a)
    b[2:5, 2:5, 2:5] = 255  # 0/255 masks are accepted
    pa = save_nifti(a, tmp_path / "a_mask.nii.gz", np.eye(4))
    pb = save_nifti(b, tmp_path / "b_mask.nii.gz", np.eye(4))
    # one R1.1 case traced as two per-lesion files: merged, so the subject counts once where they overlap
    case = Case(subject="c0001s0001", mask=pa, mask_parts=(pa, pb))
    count, share = overlap_maps([pa, pb, case])
    data = np.asanyarray(count.dataobj)
    assert data[2, 2, 2] == 3 and data[1, 1, 1] == 2 and data[4, 4, 4] == 2 and data[0, 0, 0] == 0
    assert np.asanyarray(share.dataobj)[2, 2, 2] == pytest.approx(1.0)


def test_mask_on_another_grid_is_named(tmp_path):
    good = save_nifti(np.zeros((6, 6, 6), np.uint8), tmp_path / "good.nii.gz", np.eye(4))
    shifted = np.eye(4)
    shifted[0, 3] = 2.0
    odd = save_nifti(np.zeros((6, 6, 6), np.uint8), tmp_path / "odd.nii.gz", shifted)
    small = save_nifti(np.zeros((6, 6, 5), np.uint8), tmp_path / "small.nii.gz", np.eye(4))
    for bad in (odd, small):
        with pytest.raises(InvalidInputError) as error:
            overlap_maps([good, bad])
        assert error.value.path == bad


def test_bad_masks_are_refused(tmp_path):
    fractional = np.zeros((5, 5, 5), np.float32)
    fractional[2, 2, 2] = 0.5
    path = save_nifti(fractional, tmp_path / "frac.nii.gz", np.eye(4))
    with pytest.raises(InvalidInputError, match="not binary"):
        overlap_maps([path])
    with pytest.raises(InvalidInputError, match="not binary"):
        overlap_maps([nib.Nifti1Image(fractional, np.eye(4))])
    with pytest.raises(InvalidInputError, match="does not exist"):
        overlap_maps([tmp_path / "missing.nii.gz"])
    with pytest.raises(InvalidInputError, match="no lesion masks"):
        overlap_maps([])
