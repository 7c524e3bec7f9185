import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from lesionkit.analysis.cohort import analyze_cohort
from lesionkit.io import ATLAS_AFFINE, InvalidInputError, load_cohort

AFFINE = ATLAS_AFFINE.copy()
AFFINE[:3, :3] *= 2
SHAPE = (99, 117, 95)


def _cohort(folder, n=3):
    rng = np.random.default_rng(1)
    folder.mkdir()
    for i in range(n):
        mask = np.zeros(SHAPE, np.uint8)
        i0, j0, k0 = rng.integers(30, 60, 3)
        mask[i0:i0 + 4, j0:j0 + 3, k0:k0 + 5] = 1
        nib.save(nib.Nifti1Image(mask, AFFINE), folder / f"sub-{i:02d}_mask.nii.gz")
    return load_cohort(folder, default_role="mask")


def test_parallel_equals_serial_and_progress_counts(tmp_path):
    cases = _cohort(tmp_path / "masks")
    seen = []
    serial = analyze_cohort(cases, progress=seen.append)
    parallel = analyze_cohort(cases, jobs=2)
    assert seen == [1, 2, 3]
    pd.testing.assert_frame_equal(serial.lesions, parallel.lesions)
    pd.testing.assert_frame_equal(serial.roi_load, parallel.roi_load)
    assert serial.lesions["volume_mm3"].tolist() == [60 * 8.0] * 3
    assert serial.cst_load is None and serial.subjects["n_lesions"].tolist() == [1, 1, 1]


def test_refuses_no_cases_and_duplicates(tmp_path):
    cases = _cohort(tmp_path / "masks", n=1)
    with pytest.raises(InvalidInputError, match="no lesion masks"):
        analyze_cohort([])
    with pytest.raises(InvalidInputError, match="more than once"):
        analyze_cohort([cases[0], cases[0]])


def test_default_min_size_keeps_volumes_and_loads(tmp_path):
    """A 1-voxel speck beside a lesion: not counted by default, but in total volume and ROI load."""
    folder = tmp_path / "masks"
    folder.mkdir()
    mask = np.zeros(SHAPE, np.uint8)
    mask[40:44, 50:53, 40:45] = 1
    mask[60, 50, 40] = 1  # 8 mm³ < 10 mm³
    nib.save(nib.Nifti1Image(mask, AFFINE), folder / "sub-01_mask.nii.gz")
    cases = load_cohort(folder, default_role="mask")
    default, everything = analyze_cohort(cases), analyze_cohort(cases, min_size_mm3=0.0)
    row = default.subjects.iloc[0]
    assert len(default.lesions) == 1 and row["n_lesions"] == 1
    assert row["n_specks"] == 1 and row["speck_volume_mm3"] == 8.0 and row["total_volume_mm3"] == 61 * 8.0
    assert len(everything.lesions) == 2 and everything.subjects.iloc[0]["n_specks"] == 0
    assert everything.subjects.iloc[0]["total_volume_mm3"] == 61 * 8.0
    pd.testing.assert_frame_equal(default.roi_load, everything.roi_load)  # loads count every voxel
