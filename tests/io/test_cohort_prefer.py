"""Hand-corrected masks (``desc-corrected``) in discovery: named beside the automatic one, chosen by ``prefer``."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from lesionkit.io import (
    InvalidInputError,
    collect_cases,
    corrected_mask_path,
    is_corrected_mask,
    load_cohort,
)
from tests.conftest import make_mask

AUTO = "sub-r001s001_ses-1_space-MNI152NLin2009aSym_label-L_desc-lesionkit_mask.nii.gz"
FIXED = "sub-r001s001_ses-1_space-MNI152NLin2009aSym_label-L_desc-corrected_mask.nii.gz"


def _derivatives(root: Path, corrected: bool = True, other_subject: bool = True) -> Path:
    anat = root / "sub-r001s001" / "ses-1" / "anat"
    anat.mkdir(parents=True)
    nib.save(make_mask(), anat / AUTO)
    if corrected:
        nib.save(make_mask(cube=(5, 9)), anat / FIXED)
    if other_subject:
        other = root / "sub-r001s002" / "ses-1" / "anat"
        other.mkdir(parents=True)
        nib.save(make_mask(), other / AUTO.replace("s001", "s002"))
    return root


def test_corrected_mask_path_sets_desc_and_keeps_the_other_entities(tmp_path):
    path = corrected_mask_path(tmp_path / AUTO)
    assert path == tmp_path / FIXED
    assert is_corrected_mask(path) and not is_corrected_mask(tmp_path / AUTO)
    # no desc at all: inserted in BIDS order (before the suffix); a non-BIDS name gets a suffix appended
    bare = corrected_mask_path(Path("sub-a_ses-1_label-L_mask.nii"))
    assert bare.name == "sub-a_ses-1_label-L_desc-corrected_mask.nii"
    flat = corrected_mask_path(Path("r001s001.nii.gz"))
    assert flat.name == "r001s001_desc-corrected_mask.nii.gz" and is_corrected_mask(flat)
    # a corrected T1w is no mask
    assert not is_corrected_mask("sub-a_desc-corrected_T1w.nii.gz")


def test_default_prefers_the_automatic_mask_and_is_not_a_second_mask_error(tmp_path):
    root = _derivatives(tmp_path / "deriv")
    cases = {c.id: c for c in load_cohort(root, default_role="mask")}
    assert cases["sub-r001s001_ses-1"].mask.name == AUTO
    assert cases["sub-r001s001_ses-1"].mask_parts == (cases["sub-r001s001_ses-1"].mask,)


def test_prefer_corrected_uses_the_corrected_mask_only_where_there_is_one(tmp_path):
    root = _derivatives(tmp_path / "deriv")
    cases = {c.id: c for c in collect_cases(root, need="mask", prefer="corrected")}
    assert cases["sub-r001s001_ses-1"].mask.name == FIXED
    assert cases["sub-r001s001_ses-1"].mask_parts == (root / "sub-r001s001/ses-1/anat" / FIXED,)
    assert cases["sub-r001s002_ses-1"].mask.name == AUTO.replace("s001", "s002")


def test_a_case_with_only_a_corrected_mask_uses_it_either_way(tmp_path):
    root = tmp_path / "deriv"
    anat = root / "sub-r001s001" / "ses-1" / "anat"
    anat.mkdir(parents=True)
    nib.save(make_mask(), anat / FIXED)
    for prefer in ("automatic", "corrected"):
        (case,) = load_cohort(root, default_role="mask", prefer=prefer)
        assert case.mask.name == FIXED


def test_two_corrected_masks_of_one_case_are_refused(tmp_path):
    root = _derivatives(tmp_path / "deriv", other_subject=False)
    anat = root / "sub-r001s001" / "ses-1" / "anat"
    nib.save(make_mask(), anat / FIXED.replace(".nii.gz", ".nii"))  # the same case, twice
    with pytest.raises(InvalidInputError, match="second corrected mask"):
        load_cohort(root, default_role="mask")


def test_a_second_automatic_mask_is_still_refused(tmp_path):
    root = _derivatives(tmp_path / "deriv", other_subject=False)
    anat = root / "sub-r001s001" / "ses-1" / "anat"
    nib.save(make_mask(), anat / AUTO.replace("desc-lesionkit", "desc-other"))
    with pytest.raises(InvalidInputError, match="second lesion mask"):
        load_cohort(root, default_role="mask", prefer="corrected")


def test_prefer_is_checked():
    with pytest.raises(ValueError, match="prefer"):
        load_cohort(Path(__file__).parent, prefer="manual")  # type: ignore[arg-type]


def test_the_corrected_mask_really_is_read(tmp_path):
    from lesionkit.io import load_case_mask

    root = _derivatives(tmp_path / "deriv", other_subject=False)
    (auto,) = load_cohort(root, default_role="mask")
    (fixed,) = load_cohort(root, default_role="mask", prefer="corrected")
    assert int(np.asanyarray(load_case_mask(auto).dataobj).sum()) == 6**3
    assert int(np.asanyarray(load_case_mask(fixed).dataobj).sum()) == 4**3
