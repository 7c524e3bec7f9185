import nibabel as nib
import numpy as np
import pytest

from lesionkit.io import MNI_SPACE, InvalidInputError
from lesionkit.pipeline import collect_cases


def _save(path, shape=(8, 8, 8)):
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.ones(shape, np.float32), np.eye(4)), path)
    return path


def test_files_and_folders_give_one_case_each_and_a_duplicate_is_refused(tmp_path):
    folder = tmp_path / "bids"
    _save(folder / "sub-01" / "anat" / "sub-01_T1w.nii.gz")
    _save(folder / "sub-02" / "anat" / "sub-02_T1w.nii.gz")
    single = _save(tmp_path / "sub-03_T1w.nii.gz")
    cases = collect_cases([folder, single])
    assert [c.id for c in cases] == ["sub-01", "sub-02", "sub-03"]
    assert [c.id for c in collect_cases([folder], ["02"])] == ["sub-02"]
    with pytest.raises(InvalidInputError, match="is given twice"):
        collect_cases([folder, folder / "sub-01" / "anat" / "sub-01_T1w.nii.gz"])


def test_no_case_with_the_needed_file_is_invalid_input(tmp_path):
    mask = _save(tmp_path / "sub-01_label-L_mask.nii.gz")
    with pytest.raises(InvalidInputError, match="holds no T1w image"):
        collect_cases([mask])
    assert [c.mask for c in collect_cases([mask], require="mask")] == [mask]
    with pytest.raises(InvalidInputError, match="does not exist"):
        collect_cases([tmp_path / "missing"])


def test_native_first_drops_the_mni_copy_of_a_native_scan(tmp_path):
    anat = tmp_path / "atlas" / "sub-01" / "ses-1" / "anat"
    _save(anat / f"sub-01_ses-1_space-{MNI_SPACE}_T1w.nii.gz")
    _save(anat / "sub-01_ses-1_space-orig_T1w.nii.gz")
    _save(tmp_path / "atlas" / "sub-02" / "ses-1" / "anat" / f"sub-02_ses-1_space-{MNI_SPACE}_T1w.nii.gz")
    assert [(c.subject, c.space) for c in collect_cases([tmp_path / "atlas"])] == [("01", MNI_SPACE), ("02", MNI_SPACE)]
    native = collect_cases([tmp_path / "atlas"], native_first=True)
    assert [(c.subject, c.space) for c in native] == [("01", "orig"), ("02", MNI_SPACE)]
