import json

import nibabel as nib
import numpy as np
import pytest

from lesionkit.cli import main
from lesionkit.io import load_cohort, load_mask

MNI_T1 = "_space-MNI152NLin2009aSym_T1w.nii.gz"
MNI_MASK = "_space-MNI152NLin2009aSym_label-L_desc-T1lesion_mask.nii.gz"


def test_synth_2mm_writes_atlas_layout_that_load_cohort_reads(tmp_path):
    out = tmp_path / "cohort"
    assert main(["synth", str(out), "--subjects", "2", "--seed", "7", "--resolution", "2", "--quiet"]) == 0
    t1s = sorted(out.glob(f"Training/R*/sub-*/ses-1/anat/*{MNI_T1}"))
    masks = sorted(out.glob(f"Training/R*/sub-*/ses-1/anat/*{MNI_MASK}"))
    assert len(t1s) == len(masks) == 2
    assert nib.load(t1s[0]).shape == (99, 117, 95)
    cases = load_cohort(out)
    assert [c.subject for c in cases] == ["r001s001", "r002s001"]
    for case in cases:
        assert (case.t1w.parent.parents[2] / "dataset_description.json").exists()
        assert int(case.metadata["n_lesions"]) >= 1
        mask = np.asanyarray(load_mask(case.mask).dataobj)
        assert mask.sum() * 8 == pytest.approx(float(case.metadata["total_volume_mm3"]))
    description = json.loads((out / "Training" / "R001" / "dataset_description.json").read_text())
    assert description["ScannerProfile"]["name"] == "R001"


def test_synth_rejects_zero_subjects(tmp_path):
    assert main(["synth", str(tmp_path / "x"), "--subjects", "0", "--quiet"]) == 2
    assert not (tmp_path / "x").exists()


def test_synth_refuses_a_file_as_output_folder(tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("keep me")
    assert main(["synth", str(target), "--subjects", "1", "--resolution", "2", "--quiet"]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert target.read_text() == "keep me"


@pytest.mark.slow
@pytest.mark.ci_slow
def test_synth_1mm_two_subjects(tmp_path):
    out = tmp_path / "cohort"
    assert main(["synth", str(out), "--subjects", "2", "--seed", "7", "--quiet"]) == 0
    cases = load_cohort(out)
    assert len(cases) == 2
    for case in cases:
        assert case.t1w.name.endswith(MNI_T1) and case.mask.name.endswith(MNI_MASK)
        assert nib.load(case.t1w).shape == nib.load(case.mask).shape == (197, 233, 189)


def test_synth_space_both_writes_native_files_and_transform(tmp_path):
    out = tmp_path / "cohort"
    assert main(["synth", str(out), "--subjects", "1", "--seed", "3", "--resolution", "2", "--space", "both",
                 "--quiet"]) == 0
    anat = out / "Training" / "R001" / "sub-r001s001" / "ses-1" / "anat"
    xfm = json.loads((anat / "sub-r001s001_ses-1_from-orig_to-MNI152NLin2009aSym_mode-image_xfm.json").read_text())
    matrix = np.array(xfm["Matrix"])
    assert matrix.shape == (4, 4) and np.allclose(matrix[3], [0, 0, 0, 1])
    assert np.allclose(matrix[:3, :3] @ matrix[:3, :3].T, np.eye(3), atol=1e-6)  # a rigid pose
    native = load_cohort(out, space="orig")
    assert len(native) == 1 and native[0].mask is not None
    t1 = nib.load(native[0].t1w)
    mni = load_cohort(out)  # the default view stays MNI only
    assert len(mni) == 1 and mni[0].space == "MNI152NLin2009aSym"
    assert t1.shape != nib.load(mni[0].t1w).shape
    assert nib.load(native[0].mask).shape == t1.shape


@pytest.mark.parametrize(("flag", "value", "field", "bad"), [("--cortex-warp", "4", "cortex_warp_mm", "9"),
                                                           ("--sulcal-csf", "1", "sulcal_csf", "2")])
def test_synth_anatomy_options_change_the_heads_and_the_records_say_so(tmp_path, flag, value, field, bad):
    args = ["--subjects", "1", "--seed", "3", "--resolution", "2", "--preset", "wide", "--quiet"]
    assert main(["synth", str(tmp_path / "plain"), *args]) == 0
    assert main(["synth", str(tmp_path / "changed"), *args, flag, value]) == 0
    plain, changed = (load_cohort(tmp_path / name)[0] for name in ("plain", "changed"))
    description = json.loads((tmp_path / "changed" / "Training" / "R001" / "dataset_description.json").read_text())
    assert description["SynthOptions"][field] == float(value)
    a, b = (np.asanyarray(nib.load(case.t1w).dataobj).astype(np.float32) for case in (plain, changed))
    assert not np.array_equal(a, b)
    assert main(["synth", str(tmp_path / "bad"), *args, flag, bad]) != 0
