"""Writing corrections (lesionkit.review.corrections): exact grid, provenance, stale saves, writes kept inside."""

from __future__ import annotations

import json
import os
import re

import nibabel as nib
import numpy as np
import pytest

from lesionkit.io import file_sha256
from lesionkit.review import ReviewFolder, StaleVersionError, UnsafeWriteError
from tests.review._folders import names, write_case, write_folder

OBLIQUE = "sub-r001s003_ses-1"


@pytest.fixture
def folder(tmp_path):
    return ReviewFolder(write_folder(tmp_path / "deriv"), reviewer="ada")


def _edit(folder, case_id):
    """The automatic mask with its small lesion erased and three voxels added."""
    case = folder.case(case_id)
    mask = np.asanyarray(nib.load(case.mask).dataobj) != 0
    edited = mask.copy()
    edited[-4:-2, -4:-2, -3:-1] = False  # the small lesion: 8 voxels
    edited[0, 0, :3] = True
    return mask, edited


def test_correction_is_on_the_exact_grid_with_provenance_and_leaves_the_automatic_mask(folder):
    case = folder.case(OBLIQUE)
    automatic_hash = file_sha256(case.mask)
    mask, edited = _edit(folder, OBLIQUE)
    saved = folder.save_correction(OBLIQUE, edited, base_version=folder.version(case))
    assert saved.path == case.corrected and saved.path.name == names("r001s003")["mask"].replace(
        "desc-lesionkit", "desc-corrected")
    out, source = nib.load(saved.path), nib.load(case.mask)
    assert out.shape == source.shape and np.array_equal(out.affine, source.affine)  # exact, also the oblique part
    assert np.array_equal(out.header.get_sform(), source.header.get_sform())
    assert out.get_data_dtype() == np.uint8
    assert np.array_equal(np.asanyarray(out.dataobj) != 0, edited)
    assert file_sha256(case.mask) == automatic_hash  # never written
    sidecar = json.loads(saved.path.with_name(saved.path.name.replace(".nii.gz", ".json")).read_text())
    correction = sidecar["Correction"]
    assert correction["source_mask"] == f"sub-r001s003/ses-1/anat/{case.mask.name}"
    assert sidecar["Sources"] == [f"bids::sub-r001s003/ses-1/anat/{case.mask.name}"]
    assert correction["source_sha256"] == automatic_hash and correction["sha256"] == file_sha256(saved.path)
    assert correction["reviewer"] == "ada" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", correction["time"])
    assert (correction["voxels_added"], correction["voxels_removed"]) == (3, 8) == (saved.voxels_added,
                                                                                      saved.voxels_removed)
    assert sidecar["LesionVoxels"] == int(edited.sum()) and correction["revision"] == 1
    assert correction["previous_sha256"] is None and "since_previous" not in correction
    assert sidecar["SpatialReference"] == "n/a.nii.gz"  # carried over from the automatic mask's sidecar
    leftovers = [p.name for p in case.mask.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_a_second_correction_counts_against_the_automatic_mask_and_the_previous_one(folder):
    case = folder.case(OBLIQUE)
    _, edited = _edit(folder, OBLIQUE)
    first = folder.save_correction(OBLIQUE, edited, base_version=folder.version(case))
    again = edited.copy()
    again[0, 0, 0] = False
    second = folder.save_correction(OBLIQUE, again, base_version=first.version, reviewer="grace")
    correction = second.sidecar["Correction"]
    assert correction["revision"] == 2 and correction["previous_sha256"] == first.version
    assert correction["since_previous"] == {"voxels_added": 0, "voxels_removed": 1}
    assert (second.voxels_added, second.voxels_removed) == (2, 8) and correction["reviewer"] == "grace"


def test_a_stale_save_is_refused_and_writes_nothing(folder):
    case = folder.case("sub-r001s001_ses-1")
    loaded = folder.version(case)  # two tabs load the automatic mask
    _, edited = _edit(folder, case.id)
    first = folder.save_correction(case.id, edited, base_version=loaded, reviewer="tab one")
    with pytest.raises(StaleVersionError, match="saved by tab one at .* nothing was written") as refused:
        folder.save_correction(case.id, ~edited, base_version=loaded, reviewer="tab two")
    assert refused.value.current == first.version == file_sha256(case.corrected)
    assert np.array_equal(np.asanyarray(nib.load(case.corrected).dataobj) != 0, edited)


def test_another_shape_is_refused(folder):
    case = folder.case("sub-r001s001_ses-1")
    with pytest.raises(ValueError, match="shape"):
        folder.save_correction(case.id, np.zeros((3, 3, 3), bool), base_version=folder.version(case))
    assert not case.corrected.exists()


def test_a_subject_folder_linked_from_outside_is_read_but_never_written(tmp_path):
    outside = tmp_path / "elsewhere"
    write_case(outside, "r009s001", 9)
    root = write_folder(tmp_path / "deriv", qc=False)
    os.symlink(outside / "sub-r009s001", root / "sub-r009s001")
    folder = ReviewFolder(root)
    case = folder.case("sub-r009s001_ses-1")  # discovery follows the link, as every command does
    before = sorted(p.name for p in (outside / "sub-r009s001/ses-1/anat").iterdir())
    with pytest.raises(UnsafeWriteError, match="outside the derivatives folder"):
        folder.save_correction(case.id, np.zeros(case.shape, bool), base_version=folder.version(case))
    assert sorted(p.name for p in (outside / "sub-r009s001/ses-1/anat").iterdir()) == before


def test_a_reviewed_segmentation_folder_still_passes_the_bids_validator(tmp_path):
    pytest.importorskip("torch")
    from lesionkit.io import load_cohort
    from lesionkit.pipeline import run_subjects
    from tests.pipeline._data import tiny_model, validation_errors, write_bids

    out = tmp_path / "derivatives"
    run_subjects(load_cohort(write_bids(tmp_path / "bids", 1)), out, ("segment",), model=tiny_model(tmp_path / "m.pt"),
                 progress=False)
    folder = ReviewFolder(out, reviewer="ada")
    (case,) = folder.cases
    saved = folder.save_correction(case.id, np.ones(case.shape, bool), base_version=folder.version(case))
    folder.set_status(case.id, "accepted", version=saved.version)
    assert case.corrected.is_file() and (out / "review.tsv").is_file()
    assert validation_errors(out) == []
