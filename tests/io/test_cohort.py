import json

import numpy as np
import pytest

from lesionkit.io import InvalidInputError, load_case_mask, load_cohort, save_nifti, write_text
from tests.conftest import make_image, make_mask

T1 = "space-MNI152NLin2009aSym_T1w.nii.gz"
MASK = "space-MNI152NLin2009aSym_label-L_desc-T1lesion_mask.nii.gz"


def _atlas_tree(root):
    """ATLAS v2.0: Training/R00x cohorts (MNI + space-orig), Testing without masks."""
    for cohort, subjects in {"R001": ["r001s001", "r001s002"], "R002": ["r002s001"]}.items():
        folder = root / "Training" / cohort
        write_text(folder / "dataset_description.json", json.dumps({"Name": cohort, "BIDSVersion": "1.8.0"}))
        rows = "".join(f"sub-{s}\t{i + 1}\n" for i, s in enumerate(subjects))
        write_text(folder / "participants.tsv", "participant_id\tn_lesions\n" + rows)
        for s in subjects:
            anat = folder / f"sub-{s}" / "ses-1" / "anat"
            save_nifti(make_image(), anat / f"sub-{s}_ses-1_{T1}")
            save_nifti(make_mask(), anat / f"sub-{s}_ses-1_{MASK}")
            save_nifti(make_image(), anat / f"sub-{s}_ses-1_space-orig_T1w.nii.gz")
            save_nifti(make_mask(), anat / f"sub-{s}_ses-1_space-orig_label-L_desc-T1lesion_mask.nii.gz")
    anat = root / "Testing" / "R003" / "sub-r003s001" / "ses-1" / "anat"
    save_nifti(make_image(), anat / f"sub-r003s001_ses-1_{T1}")


def test_atlas_v2_layout(tmp_path):
    _atlas_tree(tmp_path)
    cases = load_cohort(tmp_path)
    assert [c.id for c in cases] == [
        "sub-r001s001_ses-1", "sub-r001s002_ses-1", "sub-r002s001_ses-1", "sub-r003s001_ses-1"
    ]
    assert [c.cohort for c in cases] == ["R001", "R001", "R002", "R003"]
    assert all(c.space == "MNI152NLin2009aSym" for c in cases)
    assert all(c.mask is not None for c in cases[:3]) and cases[3].mask is None
    assert cases[1].metadata["n_lesions"] == "2" and cases[0].metadata["split"] == "Training"
    assert cases[3].metadata["split"] == "Testing"
    native = load_cohort(tmp_path, space="orig")
    assert len(native) == 3 and all("space-orig" in c.t1w.name for c in native)
    assert len(load_cohort(tmp_path, space=None)) == 7


def test_participant_label_filter(tmp_path):
    _atlas_tree(tmp_path)
    cases = load_cohort(tmp_path, participant_label=["r001s002", "sub-r002s001"])
    assert [c.subject for c in cases] == ["r001s002", "r002s001"]


def test_single_cohort_folder(tmp_path):
    _atlas_tree(tmp_path)
    cases = load_cohort(tmp_path / "Training" / "R002")
    assert [(c.subject, c.cohort) for c in cases] == [("r002s001", "R002")]


def test_r11_native_masks_are_merged(tmp_path):
    site = tmp_path / "Site1" / "c0001s0004t01"
    save_nifti(make_image(), site / "c0001s0004t01.nii.gz")
    first = np.zeros((20, 20, 20), np.uint8)
    first[2:5, 2:5, 2:5] = 1
    second = np.zeros_like(first)
    second[10:15, 10:15, 10:15] = 1
    save_nifti(first, site / "c0001s0004t01_LesionSmooth.nii.gz", affine=np.eye(4))
    save_nifti(second, site / "c0001s0004t01_LesionSmooth_1.nii.gz", affine=np.eye(4))
    save_nifti(make_image(), tmp_path / "Site1" / "c0001s0005t01" / "c0001s0005t01.nii.gz")
    cases = load_cohort(tmp_path)
    assert [c.subject for c in cases] == ["c0001s0004", "c0001s0005"]
    case = cases[0]
    assert case.session == "t01" and case.cohort == "c0001"
    parts = ["c0001s0004t01_LesionSmooth.nii.gz", "c0001s0004t01_LesionSmooth_1.nii.gz"]
    assert [p.name for p in case.mask_parts] == parts
    merged = np.asanyarray(load_case_mask(case).dataobj)
    assert merged.sum() == 27 + 125
    with pytest.raises(InvalidInputError, match="has no lesion mask"):
        load_case_mask(cases[1])


def test_r11_merge_refuses_mismatched_grid(tmp_path):
    save_nifti(make_image(), tmp_path / "c0001s0001t01.nii.gz")
    save_nifti(make_mask(), tmp_path / "c0001s0001t01_LesionSmooth.nii.gz")
    save_nifti(make_mask(shape=(20, 20, 22)), tmp_path / "c0001s0001t01_LesionSmooth_1.nii.gz")
    with pytest.raises(InvalidInputError, match="LesionSmooth_1.*grid shape"):
        load_case_mask(load_cohort(tmp_path)[0])


def test_plain_bids_without_sessions(tmp_path):
    write_text(tmp_path / "dataset_description.json", "{}")
    for s in ("01", "02"):
        save_nifti(make_image(), tmp_path / f"sub-{s}" / "anat" / f"sub-{s}_T1w.nii.gz")
    save_nifti(make_mask(), tmp_path / "sub-01" / "anat" / "sub-01_label-L_mask.nii.gz")
    save_nifti(make_mask(), tmp_path / "sub-01" / "anat" / "sub-01_desc-brain_mask.nii.gz")  # not a lesion
    save_nifti(make_image(), tmp_path / "derivatives" / "x" / "sub-01" / "anat" / "sub-01_T1w.nii.gz")
    cases = load_cohort(tmp_path)
    assert [(c.subject, c.session, c.mask is not None) for c in cases] == [("01", None, True), ("02", None, False)]
    assert cases[0].mask.name == "sub-01_label-L_mask.nii.gz"


def test_derivatives_of_predictions(tmp_path):
    for s in ("r001s001", "r001s002"):
        anat = tmp_path / f"sub-{s}" / "ses-1" / "anat"
        save_nifti(make_mask(), anat / f"sub-{s}_ses-1_space-MNI152NLin2009aSym_label-L_desc-lesionkit_mask.nii.gz")
        save_nifti(make_image(), anat / f"sub-{s}_ses-1_space-MNI152NLin2009aSym_label-L_desc-lesionkit_probseg.nii.gz")
    cases = load_cohort(tmp_path)
    assert len(cases) == 2
    assert all(c.t1w is None and c.mask is not None and c.probseg is not None for c in cases)


def test_flat_files_named_by_subject(tmp_path):
    save_nifti(make_mask(), tmp_path / "r001s001.nii.gz")
    save_nifti(make_mask(), tmp_path / "sub-r001s002_mask.nii.gz")
    save_nifti(make_image(), tmp_path / "r001s003_prob.nii.gz")
    cases = load_cohort(tmp_path, default_role="mask")
    assert [(c.subject, c.mask is not None, c.probseg is not None) for c in cases] == [
        ("r001s001", True, False), ("r001s002", True, False), ("r001s003", False, True)
    ]
    as_t1 = load_cohort(tmp_path)
    assert as_t1[0].t1w is not None and as_t1[1].mask is not None


def test_single_file(tmp_path):
    path = save_nifti(make_image(), tmp_path / "sub-a_ses-1_T1w.nii.gz")
    (case,) = load_cohort(path)
    assert case.subject == "a" and case.t1w == path


def test_hidden_temporary_files_are_ignored(tmp_path):
    save_nifti(make_image(), tmp_path / "sub-a_T1w.nii.gz")
    save_nifti(make_image(), tmp_path / ".sub-b_T1w.1234.tmp.nii.gz")
    assert [c.subject for c in load_cohort(tmp_path)] == ["a"]


def test_errors(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_cohort(tmp_path / "missing")
    with pytest.raises(InvalidInputError, match="no cases found"):
        load_cohort(tmp_path)
    write_text(tmp_path / "notes.txt", "x")
    with pytest.raises(InvalidInputError, match="not a NIfTI"):
        load_cohort(tmp_path / "notes.txt")
    save_nifti(make_image(), tmp_path / "a" / "sub-x_T1w.nii.gz")
    save_nifti(make_image(), tmp_path / "b" / "sub-x_T1w.nii.gz")
    with pytest.raises(InvalidInputError, match="second T1w image for sub-x"):
        load_cohort(tmp_path)
    with pytest.raises(InvalidInputError, match="no cases in space 'orig'"):
        load_cohort(tmp_path / "a", space="orig")


def test_linked_subject_folders_are_followed_and_loops_read_once(tmp_path):
    save_nifti(make_mask(), tmp_path / "pred" / "sub-01_mask.nii.gz")
    save_nifti(make_mask(), tmp_path / "elsewhere" / "sub-02" / "sub-02_mask.nii.gz")
    (tmp_path / "pred" / "sub-02").symlink_to(tmp_path / "elsewhere" / "sub-02", target_is_directory=True)
    (tmp_path / "elsewhere" / "sub-02" / "loop").symlink_to(tmp_path / "pred", target_is_directory=True)
    cases = load_cohort(tmp_path / "pred", default_role="mask")
    assert [c.subject for c in cases] == ["01", "02"]


def test_unreadable_folders_and_broken_links_are_errors(tmp_path, monkeypatch):
    import os

    save_nifti(make_mask(), tmp_path / "sub-01_mask.nii.gz")
    (tmp_path / "sub-02").mkdir()
    real_scandir = os.scandir

    def scandir(path="."):  # what a folder without read permission gives (root reads everything)
        if os.fspath(path).endswith("sub-02"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(InvalidInputError, match=r"sub-02: cannot read this folder \(Permission denied\)"):
        load_cohort(tmp_path, default_role="mask")
    monkeypatch.undo()
    (tmp_path / "sub-03_mask.nii.gz").symlink_to(tmp_path / "gone.nii.gz")
    with pytest.raises(InvalidInputError, match=r"sub-03_mask\.nii\.gz: is a broken symbolic link"):
        load_cohort(tmp_path, default_role="mask")


@pytest.mark.skipif(__import__("os").geteuid() == 0, reason="root reads folders without read permission")
def test_a_folder_without_read_permission_is_an_error(tmp_path):
    save_nifti(make_mask(), tmp_path / "sub-01_mask.nii.gz")
    locked = tmp_path / "sub-02"
    save_nifti(make_mask(), locked / "sub-02_mask.nii.gz")
    locked.chmod(0)
    try:
        with pytest.raises(InvalidInputError, match="cannot read this folder"):
            load_cohort(tmp_path, default_role="mask")
    finally:
        locked.chmod(0o755)


def test_two_masks_for_one_subject_are_an_error_naming_both(tmp_path):
    save_nifti(make_mask(), tmp_path / "sub-r001s001_mask.nii.gz")
    save_nifti(make_mask(), tmp_path / "r001s001_lesion.nii.gz")
    save_nifti(make_mask(), tmp_path / "sub-r002s001_mask.nii.gz")
    with pytest.raises(InvalidInputError, match=r"sub-r001s001_mask\.nii\.gz: second lesion mask for sub-r001s001 "
                                                r"\(first: .*r001s001_lesion\.nii\.gz\)"):
        load_cohort(tmp_path, default_role="mask")
    save_nifti(make_image(), tmp_path / "b" / "sub-x_label-L_desc-a_probseg.nii.gz")
    save_nifti(make_image(), tmp_path / "b" / "sub-x_label-L_desc-b_probseg.nii.gz")
    with pytest.raises(InvalidInputError, match="second probability map for sub-x"):
        load_cohort(tmp_path / "b")


def test_predictions_are_never_read_as_truth(tmp_path):
    _atlas_tree(tmp_path)
    pred = tmp_path / "sub-r001s001" / "ses-1" / "anat" / f"sub-r001s001_ses-1_{MASK.replace('T1lesion', 'lesionkit')}"
    save_nifti(make_mask(cube=(2, 5)), pred)
    truth = load_cohort(tmp_path, truth=True)
    assert truth[0].mask_parts == (tmp_path / "Training" / "R001" / "sub-r001s001" / "ses-1" / "anat"
                                   / f"sub-r001s001_ses-1_{MASK}",)
    with pytest.raises(InvalidInputError, match="sub-r001s001 is also under another site"):
        load_cohort(tmp_path)  # read as any masks: the prediction and the truth are ambiguous


def test_one_subject_under_two_sites_is_an_error(tmp_path):
    save_nifti(make_mask(), tmp_path / "R001" / "sub-x" / "anat" / "sub-x_mask.nii.gz")
    save_nifti(make_image(), tmp_path / "R002" / "sub-x" / "anat" / "sub-x_T1w.nii.gz")
    with pytest.raises(InvalidInputError, match=r"R002/sub-x/anat/sub-x_T1w\.nii\.gz: sub-x is also under another "
                                                r"site \(R001: .*sub-x_mask\.nii\.gz\)"):
        load_cohort(tmp_path)
