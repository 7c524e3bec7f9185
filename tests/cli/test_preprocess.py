import gzip
import json

import nibabel as nib
import numpy as np
import pytest

from lesionkit.cli import main
from lesionkit.preprocess.xfm import load_transform_json
from tests.preprocess.native_case import make_native_case


def _write(path, data, affine=None):
    nib.save(nib.Nifti1Image(data, np.eye(4) if affine is None else affine), path)
    return str(path)


@pytest.fixture
def t1(tmp_path):
    return _write(tmp_path / "sub-01_T1w.nii.gz", np.random.default_rng(0).random((20, 20, 20), dtype=np.float32))


def _nan_t1(tmp_path):
    data = np.ones((20, 20, 20), np.float32)
    data[3, 3, 3] = np.nan
    return [_write(tmp_path / "sub-02_T1w.nii.gz", data)]


def _truncated_t1(tmp_path):
    path = tmp_path / "sub-03_T1w.nii.gz"
    _write(path, np.random.default_rng(0).random((20, 20, 20), dtype=np.float32))
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    return [str(path)]


@pytest.mark.parametrize(
    "make_args, message",
    [
        (lambda tmp, t1: [str(tmp / "missing_T1w.nii.gz")], "does not exist"),
        (lambda tmp, t1: _nan_t1(tmp), "NaN"),
        (lambda tmp, t1: _truncated_t1(tmp), "truncated or corrupt"),
        (lambda tmp, t1: [t1, "--mask", _write(tmp / "m.nii.gz", np.full((20, 20, 20), 7, np.uint8))], "not binary"),
        (lambda tmp, t1: [t1, "--mask", _write(tmp / "m.nii.gz", np.zeros((20, 20, 19), np.uint8))], "shape"),
        (lambda tmp, t1: [t1, "--mask", _write(tmp / "m.nii.gz", np.zeros((20, 20, 20), np.uint8),
                                               np.diag([1.0, 1.0, 2.0, 1.0]))], "affine differs"),
    ],
)
def test_invalid_input_exits_3_and_writes_nothing(tmp_path, t1, capsys, make_args, message):
    out = tmp_path / "out"
    args = make_args(tmp_path, t1)
    assert main(["preprocess", args[0], str(out), *args[1:]]) == 3
    err = capsys.readouterr().err
    assert "invalid input" in err and message in err
    assert not out.exists() or not any(out.rglob("*"))


def test_mask_with_several_inputs_is_a_usage_error(tmp_path, t1):
    other = _write(tmp_path / "sub-02_T1w.nii.gz", np.ones((20, 20, 20), np.float32))
    mask = _write(tmp_path / "m.nii.gz", np.zeros((20, 20, 20), np.uint8))
    assert main(["preprocess", t1, other, str(tmp_path / "out"), "--mask", mask]) == 2


def test_truncated_gzip_helper_really_is_truncated(tmp_path):
    path = _truncated_t1(tmp_path)[0]
    with pytest.raises((EOFError, OSError, gzip.BadGzipFile)):
        gzip.decompress(open(path, "rb").read())


@pytest.mark.slow
@pytest.mark.ci_slow
def test_preprocess_bids_folder_end_to_end(tmp_path):
    """A BIDS folder with one coarse oblique native scan and its lesion mask → every derivative, aligned.

    The scan is the one read from disk on which the former ANTs ``affine_initializer`` search picked a wrong
    orientation (69 mm): a 35°/−20°/50° head rotation."""
    case = make_native_case(spacing=(2.5, 2.5, 2.5), angles=(35.0, -20.0, 50.0), lesion_radius=12.0)
    anat = tmp_path / "bids" / "sub-07" / "ses-1" / "anat"
    anat.mkdir(parents=True)
    nib.save(case.t1w, anat / "sub-07_ses-1_T1w.nii.gz")
    nib.save(case.mask, anat / "sub-07_ses-1_label-L_desc-T1lesion_mask.nii.gz")
    out = tmp_path / "derivatives"
    assert main(["preprocess", str(tmp_path / "bids"), str(out), "--participant-label", "07"]) == 0
    folder = out / "sub-07" / "ses-1" / "anat"
    stem = "sub-07_ses-1_space-MNI152NLin2009aSym"
    t1w = nib.load(folder / f"{stem}_desc-preproc_T1w.nii.gz")
    assert t1w.shape == (197, 233, 189)
    mask = np.asarray(nib.load(folder / f"{stem}_label-L_desc-T1lesion_mask.nii.gz").dataobj)
    assert mask.dtype == np.uint8 and mask.sum() > 0.8 * (4 / 3 * np.pi * 12**3)
    assert (folder / f"{stem}_desc-brain_mask.nii.gz").exists()
    forward = load_transform_json(folder / "sub-07_ses-1_from-orig_to-MNI152NLin2009aSym_mode-image_xfm.json")
    inverse = load_transform_json(folder / "sub-07_ses-1_from-MNI152NLin2009aSym_to-orig_mode-image_xfm.json")
    np.testing.assert_allclose(forward @ inverse, np.eye(4), atol=1e-8)
    brain = np.argwhere(case.brain)
    world = np.c_[brain, np.ones(len(brain))] @ case.t1w.affine.T
    assert np.linalg.norm((world @ forward.T - world @ case.transform.T)[:, :3], axis=1).mean() <= 2.0
    assert (folder / "sub-07_ses-1_from-orig_to-MNI152NLin2009aSym_mode-image_xfm.mat").exists()
    sidecar = json.loads((folder / f"{stem}_desc-preproc_T1w.json").read_text())
    assert [s["name"] for s in sidecar["Steps"]][:3] == ["reorient", "bias_correction", "registration"]
    assert sidecar["Steps"][2]["parameters"]["initialisation_chosen"].startswith("search candidate")
    assert all(s["seconds"] >= 0 for s in sidecar["Steps"])
    qc = out / "sub-07" / "ses-1" / "figures" / f"{stem}_desc-registration_T1w.png"
    assert qc.read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "dataset_description.json").read_text())["DatasetType"] == "derivative"
    assert not list(out.rglob(".*tmp*"))


def test_invalid_input_in_a_worker_process_exits_3(tmp_path, capsys):
    bad = _nan_t1(tmp_path)[0]
    other = _write(tmp_path / "sub-05_T1w.nii.gz", np.zeros((20, 20, 20), np.float32))  # constant: no signal
    out = tmp_path / "out"
    assert main(["preprocess", bad, other, str(out), "--jobs", "2"]) == 3
    assert "invalid input" in capsys.readouterr().err
    assert not out.exists() or not any(out.rglob("*"))
