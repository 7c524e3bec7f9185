"""Scoring an archive against the hidden truth: layouts, missing and extra files (lesionkit.challenge.scoring)."""

from __future__ import annotations

import gzip
import zipfile

import nibabel as nib
import numpy as np
import pytest
from sqlalchemy import select

from lesionkit.challenge.scoring import score_archive
from lesionkit.challenge.tables import Challenge, Phase
from lesionkit.io import InvalidInputError
from lesionkit.metrics import evaluate_pair
from tests.challenge.conftest import AFFINE, make_challenge, prediction, truth_array


def _archive(tmp_path, members: dict[str, np.ndarray | bytes], affine=AFFINE):  # noqa: ANN001, ANN202
    path = tmp_path / "sub.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            raw = data if isinstance(data, bytes) else gzip.compress(nib.Nifti1Image(data, affine).to_bytes())
            zf.writestr(name, raw)
    return path


def _score(db, archive):  # noqa: ANN001, ANN202
    with db.read() as session:
        phase = session.scalar(select(Phase))
        _ = phase.cases
        storage = session.scalar(select(Challenge)).storage
    from pathlib import Path

    return score_archive(archive, phase, Path(storage))


@pytest.fixture
def db(tmp_path):
    database = make_challenge(tmp_path)
    yield database
    database.dispose()


def test_atlas_layout_flat_names_missing_and_extra(db, tmp_path):
    archive = _archive(tmp_path, {
        # ATLAS layout, BIDS derivative name
        "R001/sub-r001s001/ses-1/anat/sub-r001s001_ses-1_space-MNI152NLin2009aSym_label-L_desc-T1lesion_mask.nii.gz":
            prediction("r001s001"),
        "r001s002.nii.gz": prediction("r001s002", shift=2),  # flat name, no session: the subject's only scan
        "sub-r009s009_mask.nii.gz": prediction("r001s001"),  # no such case
        # not a mask (a subject of its own: one subject id belongs to one site folder, lesionkit.io's rule)
        "sub-r001s008_ses-1_T1w.nii.gz": np.zeros((20, 20, 20), np.float32),
        "notes.txt": b"hello",
    })
    result = _score(db, archive)
    assert [c.case_id for c in result.cases] == ["sub-r001s001_ses-1", "sub-r001s002_ses-1", "sub-r001s003_ses-1"]
    assert result.missing == ["sub-r001s003_ses-1"]
    assert result.extra == ["notes.txt", "sub-r001s008_ses-1_T1w.nii.gz", "sub-r009s009_mask.nii.gz"]
    expected = evaluate_pair(prediction("r001s002", shift=2), truth_array("r001s002"))
    assert result.cases[1].metrics["dice"] == pytest.approx(expected["dice"])
    assert result.cases[2].metrics["dice"] == 0.0 and result.cases[2].missing
    assert result.summary()["dice"] == pytest.approx(np.mean([c.metrics["dice"] for c in result.cases]))
    assert result.timings["cases"] == 3


def test_duplicate_prediction_refused(db, tmp_path):
    archive = _archive(tmp_path, {"a/sub-r001s001_ses-1_mask.nii.gz": prediction("r001s001"),
                                  "b/sub-r001s001_ses-1_mask.nii.gz": prediction("r001s001")})
    with pytest.raises(InvalidInputError, match="second (prediction|lesion mask) for sub-r001s001_ses-1"):
        _score(db, archive)


def test_identity_affine_warns(db, tmp_path):
    archive = _archive(tmp_path, {"sub-r001s001_ses-1_mask.nii.gz": prediction("r001s001")}, affine=np.eye(4))
    result = _score(db, archive)
    assert any("identity affine" in w for w in result.warnings)
    assert result.cases[0].metrics["dice"] > 0.5


def test_scratch_folder_removed_even_on_error(db, tmp_path):
    archive = _archive(tmp_path, {"sub-r001s001_ses-1_mask.nii.gz": b"not nifti"})
    with pytest.raises(InvalidInputError):
        _score(db, archive)
    assert not list((tmp_path / "store").glob("unpack-*"))


def test_official_derivative_layout_and_unreadable_names(db, tmp_path):
    root = "derivatives/atlas2_prediction/sub-r001s001/ses-1/anat/"
    archive = _archive(tmp_path, {
        "derivatives/atlas2_prediction/dataset_description.json": b"{}",
        root + "sub-r001s001_ses-1_space-MNI152NLin2009aSym_label-L_mask.nii.gz": prediction("r001s001"),
        "sub-r001s002_ses-1_desc-brain_mask.nii.gz": prediction("r001s002"),  # a brain mask: not a lesion mask
        "__MACOSX/._sub-r001s003_ses-1_mask.nii.gz": b"resource fork",
    })
    result = _score(db, archive)
    assert result.cases[0].metrics["dice"] > 0.5 and not result.cases[0].missing
    assert result.missing == ["sub-r001s002_ses-1", "sub-r001s003_ses-1"]
    assert result.extra == ["__MACOSX/._sub-r001s003_ses-1_mask.nii.gz",
                            "derivatives/atlas2_prediction/dataset_description.json",
                            "sub-r001s002_ses-1_desc-brain_mask.nii.gz"]


def test_errors_never_show_server_paths(db, tmp_path):
    archive = _archive(tmp_path, {"sub-r001s001_ses-1_T1w.nii.gz": prediction("r001s001"),
                                  "x/sub-r001s001_ses-1_T1w.nii.gz": prediction("r001s001")})
    with pytest.raises(InvalidInputError) as error:
        _score(db, archive)
    assert "second T1w image" in str(error.value)
    assert str(tmp_path) not in str(error.value) and "unpack-" not in str(error.value)
