import numpy as np
import pytest

from lesionkit.io import InvalidInputError, collect_cases, save_nifti, validate_cases
from tests.conftest import make_image, make_mask


def _masks(folder, *subjects):
    return [save_nifti(make_mask(), folder / f"sub-{s}_mask.nii.gz") for s in subjects]


def test_files_and_folders_in_input_order(tmp_path):
    (one,) = _masks(tmp_path / "a", "01")
    _masks(tmp_path / "b", "03", "02")
    cases = collect_cases([one, tmp_path / "b"], need="mask")
    assert [c.subject for c in cases] == ["01", "02", "03"]
    only = collect_cases([one, tmp_path / "b"], need="mask", participant_label=["02"])
    assert [c.subject for c in only] == ["01", "02"]  # the label filters folders, a named file is kept


def test_the_same_input_or_case_twice_is_an_error(tmp_path):
    one, _ = _masks(tmp_path / "a", "01", "02")
    with pytest.raises(InvalidInputError, match=r"sub-01_mask\.nii\.gz: is given twice$"):
        collect_cases([one, one], need="mask")
    (tmp_path / "link.nii.gz").symlink_to(one)
    with pytest.raises(InvalidInputError, match=r"link\.nii\.gz: is given twice \(also as .*sub-01_mask"):
        collect_cases([one, tmp_path / "link.nii.gz"])
    with pytest.raises(InvalidInputError, match=r"sub-01_mask\.nii\.gz: is given twice: as .* \(from .*\) and from"):
        collect_cases([one, tmp_path / "a"])
    _masks(tmp_path / "b", "01")
    with pytest.raises(InvalidInputError, match=r"sub-01 is also in .*a: give each case once"):
        collect_cases([tmp_path / "a", tmp_path / "b"])


def test_need_and_missing_inputs(tmp_path):
    _masks(tmp_path / "m", "01")
    with pytest.raises(InvalidInputError, match=r"m: holds no T1w image"):
        collect_cases(tmp_path / "m", need="t1w")
    with pytest.raises(InvalidInputError, match="nope: does not exist"):
        collect_cases([tmp_path / "m", tmp_path / "nope"])


def test_validate_cases_reads_every_file_before_work(tmp_path):
    for s in ("01", "02"):
        save_nifti(make_image(), tmp_path / f"sub-{s}" / "anat" / f"sub-{s}_T1w.nii.gz")
    save_nifti(make_mask(), tmp_path / "sub-01" / "anat" / "sub-01_label-L_mask.nii.gz")
    cases = collect_cases(tmp_path, need="t1w")
    validate_cases(cases, masks=True, scans=True)
    save_nifti(make_mask(shape=(20, 20, 21)), cases[0].mask)
    with pytest.raises(InvalidInputError, match="grid shape"):
        validate_cases(cases, masks=True)
    bad = cases[1].t1w
    bad.write_bytes(bad.read_bytes()[:-1000])
    with pytest.raises(InvalidInputError, match=r"sub-02_T1w\.nii\.gz: cannot read NIfTI data"):
        validate_cases(cases)
    save_nifti(np.ones((20, 20, 1), np.float32), bad, np.eye(4))
    validate_cases(cases)  # a slice is a valid image ...
    with pytest.raises(InvalidInputError, match="is a slice or thin slab"):
        validate_cases(cases, scans=True)  # ... but no scan to segment
