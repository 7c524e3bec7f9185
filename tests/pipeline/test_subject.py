import json

import nibabel as nib
import numpy as np
import pytest

import lesionkit.preprocess
from lesionkit.io import ATLAS_AFFINE, ATLAS_SHAPE, MNI_SPACE, InvalidInputError, load_cohort
from lesionkit.pipeline import run_subject
from lesionkit.pipeline.subject import STAGING
from tests.pipeline._data import tiny_model, validation_errors, write_bids


@pytest.fixture
def case(tmp_path):
    (case,) = load_cohort(write_bids(tmp_path / "bids", 1))
    return case


def _files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_segment_and_analyze_write_derivatives_and_a_provenance_sidecar(tmp_path, case):
    model = tiny_model(tmp_path / "m.pt")
    out = tmp_path / "out"
    result = run_subject(case, out, ("segment", "analyze"), model=model)
    assert result.status == "done" and set(result.seconds) == {"segment", "analyze", "total"}
    stem = f"sub-01/ses-1/anat/sub-01_ses-1_space-{MNI_SPACE}"
    assert _files(out) == sorted([
        f"{stem}_desc-lesionkit_lesions.tsv",
        f"{stem}_desc-lesionkit_roiload.tsv",
        f"{stem}_label-L_desc-lesionkit_mask.json",
        f"{stem}_label-L_desc-lesionkit_mask.nii.gz",
        f"{stem}_label-L_desc-lesionkit_probseg.json",
        f"{stem}_label-L_desc-lesionkit_probseg.nii.gz",
        f"sub-01/ses-1/figures/sub-01_ses-1_space-{MNI_SPACE}_label-L_desc-lesionkit_mask.png",
    ])  # nothing left in the staging folder, no temporary file
    sidecar = json.loads((out / f"{stem}_label-L_desc-lesionkit_mask.json").read_text())
    provenance = sidecar["Provenance"]
    assert sidecar["Type"] == "Lesion" and sidecar["Threshold"] == 0.5
    assert provenance["steps"] == ["segment", "analyze"] and len(provenance["model"][0]) == 64
    assert provenance["model_files"][0]["path"] == str(model.resolve())
    assert provenance["parameters"] == {"min_size_mm3": None, "qc": True, "threshold": None, "tta": False}
    assert sidecar["qc"]["members"] == ["net1", "net1_flipped"] and "member_dice" in sidecar["qc"]["features"]
    assert len(provenance["outputs"]) == 6 and provenance["seconds"]["total"] > 0
    mask = nib.load(out / f"{stem}_label-L_desc-lesionkit_mask.nii.gz")
    assert mask.get_data_dtype() == np.uint8 and mask.header.get_xyzt_units()[0] == "mm"
    np.testing.assert_array_equal(mask.affine, nib.load(case.t1w).affine)


def test_a_finished_subject_is_skipped_unless_its_run_changed(tmp_path, case):
    model = tiny_model(tmp_path / "m.pt")
    out = tmp_path / "out"
    assert run_subject(case, out, ("segment",), model=model).status == "done"
    record = next(out.rglob("*_mask.json"))
    before = record.read_bytes()
    assert run_subject(case, out, ("segment",), model=model).status == "skipped"
    assert record.read_bytes() == before
    assert run_subject(case, out, ("segment",), model=model, threshold=0.3).status == "done"
    assert run_subject(case, out, ("segment",), model=model, threshold=0.3, overwrite=True).status == "done"
    next(out.rglob("*_probseg.nii.gz")).unlink()  # an output lost since: redone
    assert run_subject(case, out, ("segment",), model=model, threshold=0.3).status == "done"


def test_invalid_input_raises_and_leaves_nothing_behind(tmp_path, case):
    blob = case.t1w.read_bytes()
    case.t1w.write_bytes(blob[: len(blob) // 2])
    out = tmp_path / "out"
    with pytest.raises(InvalidInputError, match="truncated or corrupt"):
        run_subject(case, out, ("segment",), model=tiny_model(tmp_path / "m.pt"))
    assert not (out / STAGING).exists() and _files(out) == []


def test_steps_are_checked(tmp_path, case):
    with pytest.raises(ValueError, match="analyze step needs the segment step"):
        run_subject(case, tmp_path / "out", ("analyze",))
    with pytest.raises(ValueError, match="subset"):
        run_subject(case, tmp_path / "out", ("register",))


def _fake_preprocess(shift_mm: float):
    """preprocess_t1w without ANTs: a pure shift as the registration and the template as the MNI image."""
    from lesionkit.io import load_template
    from lesionkit.preprocess import PreprocessResult
    from lesionkit.preprocess.brain_mask import template_brain_mask

    def run(image, mask=None, *, deface=True, progress=None):
        transform = np.eye(4)
        transform[0, 3] = shift_mm
        template = load_template("t1")
        return PreprocessResult(
            t1w_mni=nib.Nifti1Image(np.asarray(template.dataobj, np.float32), ATLAS_AFFINE),
            mask_mni=None, brain_mask_mni=template_brain_mask(), transform=transform,
            steps=[{"name": "registration", "parameters": {"initialisation_chosen": "search candidate 1"},
                    "seconds": 0.1}],
            t1w_native=image, bias_field=image, brain_mask_native=image, source=image.get_filename(),
        )

    return run


@pytest.mark.slow
@pytest.mark.ci_slow
def test_a_native_scan_gets_preprocessing_outputs_both_spaces_and_valid_bids(tmp_path, monkeypatch):
    """Preprocessing stubbed (a 4 mm shift, no ANTs); everything else real at 1 mm, then the BIDS validator."""
    affine = np.diag([1.5, 1.5, 3.0, 1.0])
    affine[:3, 3] = [-70.0, -100.0, -60.0]
    anat = tmp_path / "bids" / "sub-07" / "anat"
    anat.mkdir(parents=True)
    data = np.random.default_rng(7).random((90, 110, 40), dtype=np.float32) * 100
    nib.save(nib.Nifti1Image(data, affine), anat / "sub-07_T1w.nii.gz")
    (case,) = load_cohort(tmp_path / "bids")
    monkeypatch.setattr(lesionkit.preprocess, "preprocess_t1w", _fake_preprocess(4.0))
    out = tmp_path / "derivatives"
    from lesionkit.pipeline.derivatives import finish_derivatives

    result = run_subject(case, out, model=tiny_model(tmp_path / "m.pt"))
    finish_derivatives(out, "lesionkit")
    assert set(result.seconds) == {"preprocess", "segment", "analyze", "total"}
    files = _files(out)
    for name in (f"sub-07/anat/sub-07_space-{MNI_SPACE}_desc-preproc_T1w.nii.gz",
                 f"sub-07/anat/sub-07_from-orig_to-{MNI_SPACE}_mode-image_xfm.mat",
                 f"sub-07/figures/sub-07_space-{MNI_SPACE}_desc-registration_T1w.png",
                 "sub-07/anat/sub-07_space-orig_label-L_desc-lesionkit_mask.nii.gz",
                 f"sub-07/anat/sub-07_space-{MNI_SPACE}_label-L_desc-lesionkit_probseg.nii.gz",
                 f"sub-07/anat/sub-07_space-{MNI_SPACE}_desc-lesionkit_lesions.tsv"):
        assert name in files
    native = nib.load(out / "sub-07/anat/sub-07_space-orig_label-L_desc-lesionkit_probseg.nii.gz")
    assert native.shape == (90, 110, 40)
    np.testing.assert_array_equal(native.affine, affine)
    assert nib.load(out / f"sub-07/anat/sub-07_space-{MNI_SPACE}_label-L_desc-lesionkit_mask.nii.gz").shape == \
        ATLAS_SHAPE
    provenance = json.loads((out / "sub-07/anat/sub-07_space-orig_label-L_desc-lesionkit_mask.json").read_text())
    assert provenance["Provenance"]["parameters"]["deface"] is True
    assert validation_errors(out) == []
