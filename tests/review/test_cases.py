"""Review cases (lesionkit.review.cases, .folder): discovery, T1w pairing, QC order, ids that are never paths."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from lesionkit.io import InvalidInputError, file_sha256
from lesionkit.review import CaseNotFoundError, ReviewFolder
from tests.review._folders import SHAPE, lesion_mask, names, write_case, write_folder


def test_cases_are_found_paired_with_their_t1w_and_sorted_by_qc(tmp_path):
    folder = ReviewFolder(write_folder(tmp_path / "deriv"), reviewer="ada")
    assert [c.id for c in folder.cases] == ["sub-r001s001_ses-1", "sub-r001s002_ses-1", "sub-r001s003_ses-1"]
    assert all(c.background_kind == "T1w" and "from the derivatives folder" in c.background_note for c in folder.cases)
    rows = folder.listing()
    assert [r["id"] for r in rows] == ["sub-r001s002_ses-1", "sub-r001s003_ses-1", "sub-r001s001_ses-1"]
    assert rows[0]["qc_flag"] == "check" and rows[0]["qc_reasons"] == ["flip-TTA Dice 0.41", "volume outlier"]
    assert rows[0]["automatic_mm3"] == (6 * 7 * 5 + 8) * 8.0 and rows[0]["status"] == "to review"
    assert folder.has_qc


def test_without_qc_the_cases_are_sorted_by_id(tmp_path):
    root = tmp_path / "deriv"
    for subject, seed in (("r002s001", 1), ("r001s005", 2), ("r001s002", 3)):
        write_case(root, subject, seed)
    folder = ReviewFolder(root)
    assert not folder.has_qc
    assert [r["id"] for r in folder.listing()] == ["sub-r001s002_ses-1", "sub-r001s005_ses-1", "sub-r002s001_ses-1"]
    assert all(r["qc_flag"] is None for r in folder.listing())


def test_t1w_from_a_raw_dataset_and_from_the_sidecar(tmp_path):
    raw = tmp_path / "raw" / "sub-r001s001" / "ses-1" / "anat"
    raw.mkdir(parents=True)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    t1 = raw / "sub-r001s001_ses-1_space-MNI152NLin2009aSym_T1w.nii.gz"
    nib.save(nib.Nifti1Image(np.ones(SHAPE, np.float32), affine), t1)
    deriv = tmp_path / "deriv"
    mask = write_case(deriv, "r001s001", 1, t1w=False, sidecar=False)
    (case,) = ReviewFolder(deriv, t1=tmp_path / "raw").cases
    assert case.background == t1 and "from --t1" in case.background_note
    mask.with_name(mask.name.replace(".nii.gz", ".json")).write_text(json.dumps({"Sources": [str(t1)]}))
    (case,) = ReviewFolder(deriv).cases
    assert case.background == t1 and "sidecar" in case.background_note


def test_a_t1w_on_another_grid_is_not_used(tmp_path):
    deriv = tmp_path / "deriv"
    mask = write_case(deriv, "r001s001", 1, t1w=False, sidecar=False)
    other = mask.parent / names("r001s001")["t1w"]
    nib.save(nib.Nifti1Image(np.ones(SHAPE, np.float32), np.diag([1.0, 1.0, 1.0, 1.0])), other)
    (case,) = ReviewFolder(deriv).cases
    assert case.background == mask and case.background_kind == "mask"
    assert "no T1w on the mask's grid" in case.background_note and other.name in case.background_note
    probseg = mask.with_name(names("r001s001")["probseg"])
    nib.save(nib.Nifti1Image(np.zeros(SHAPE, np.float32), np.diag([2.0, 2.0, 2.0, 1.0])), probseg)
    (case,) = ReviewFolder(deriv).cases
    assert case.background == probseg and case.background_kind == "probability map"


def test_masks_in_two_spaces_get_the_space_in_their_ids(tmp_path):
    deriv = tmp_path / "deriv"
    write_case(deriv, "r001s001", 1)
    write_case(deriv, "r001s001", 2, space="orig")
    assert [c.id for c in ReviewFolder(deriv).cases] == ["sub-r001s001_ses-1_space-MNI152NLin2009aSym",
                                                          "sub-r001s001_ses-1_space-orig"]


def test_a_corrected_mask_is_shown_and_versions_follow_the_file(tmp_path):
    folder = ReviewFolder(write_folder(tmp_path / "deriv"))
    case = folder.case("sub-r001s001_ses-1")
    assert folder.current_mask(case) == case.mask and folder.version(case) == file_sha256(case.mask)
    fixed = lesion_mask(1)
    fixed[:, :, :] = 0
    fixed[1:3, 1:3, 1:3] = 1
    saved = folder.save_correction(case.id, fixed.astype(bool), base_version=folder.version(case))
    assert folder.current_mask(case) == case.corrected and folder.version(case) == saved.version
    row = folder.summary(case)
    assert row["corrected"] and row["corrected_mm3"] == 8 * 8.0 and row["automatic_mm3"] > row["corrected_mm3"]
    detail = folder.detail(case.id)
    assert detail["shown_mask"] == case.corrected.name and detail["lesion_voxels"] == 8
    assert [lesion["voxels"] for lesion in detail["lesions"]] == [8]
    assert detail["correction"]["revision"] == 1
    # the folder reads the same afterwards: the corrected mask is not a second mask
    assert [c.id for c in ReviewFolder(folder.root).cases] == [c.id for c in folder.cases]


def test_a_case_with_only_a_corrected_mask_is_skipped_with_a_note(tmp_path):
    deriv = write_folder(tmp_path / "deriv", qc=False)
    mask = write_case(deriv, "r002s001", 5)
    mask.rename(mask.with_name(mask.name.replace("desc-lesionkit", "desc-corrected")))
    folder = ReviewFolder(deriv)
    assert "sub-r002s001_ses-1" not in [c.id for c in folder.cases]
    assert any("only a corrected mask" in note for note in folder.notes)


@pytest.mark.parametrize("case_id", ["..", "../sub-r001s001_ses-1", "/etc/passwd", "sub-r001s001_ses-1/../..",
                                     "sub-r001s001_ses-1%2F..", "sub-r001s009_ses-1", "", "sub-r001s001_ses-1\x00"])
def test_case_ids_are_looked_up_never_used_as_paths(tmp_path, case_id):
    folder = ReviewFolder(write_folder(tmp_path / "deriv"))
    with pytest.raises(CaseNotFoundError):
        folder.case(case_id)


def test_a_folder_without_masks_is_invalid_input(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="empty"):
        ReviewFolder(tmp_path / "empty")
    with pytest.raises(InvalidInputError, match="not a folder"):
        ReviewFolder(tmp_path / "missing")
