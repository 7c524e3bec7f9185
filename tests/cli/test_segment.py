import json

import nibabel as nib
import numpy as np
import pytest
import torch

import lesionkit.pipeline.segment as segment_pipeline
from lesionkit.cli import main
from lesionkit.io import ATLAS_AFFINE, ATLAS_SHAPE, MNI_SPACE
from lesionkit.model import NetworkConfig, build_network, save_checkpoint


@pytest.fixture
def tiny_model(tmp_path):
    torch.manual_seed(0)
    config = NetworkConfig(widths=[8, 16], stem_stride=2)
    return save_checkpoint(tmp_path / "tiny.pt", build_network(config), config, roi_size=(112, 128, 112))


def _write(path, shape, affine):
    data = np.random.default_rng(0).normal(100, 10, shape).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, affine), path)
    return path


def test_segments_an_mni_file_into_bids_derivatives(tmp_path, tiny_model):
    torch.set_num_threads(1)
    t1 = _write(tmp_path / "in" / f"sub-01_ses-1_space-{MNI_SPACE}_T1w.nii.gz", ATLAS_SHAPE, ATLAS_AFFINE)
    out = tmp_path / "out"
    assert main(["segment", str(t1), "-o", str(out), "--model", str(tiny_model)]) == 0
    stem = out / "sub-01" / "ses-1" / "anat" / f"sub-01_ses-1_space-{MNI_SPACE}_label-L_desc-lesionkit"
    mask, prob = nib.load(f"{stem}_mask.nii.gz"), nib.load(f"{stem}_probseg.nii.gz")
    assert mask.shape == prob.shape == ATLAS_SHAPE
    np.testing.assert_allclose(mask.affine, ATLAS_AFFINE)
    assert mask.get_data_dtype() == np.uint8 and prob.get_data_dtype() == np.float32
    p = np.asarray(prob.dataobj)
    assert 0 <= p.min() and p.max() <= 1
    np.testing.assert_array_equal(np.asarray(mask.dataobj), (p >= 0.5).astype(np.uint8))
    assert json.loads((out / "dataset_description.json").read_text())["DatasetType"] == "derivative"


def test_native_input_goes_through_preprocessing_and_back(tmp_path, tiny_model, monkeypatch):
    affine = np.diag([1.2, 1.2, 1.5, 1.0])
    t1 = _write(tmp_path / "in" / "sub-02_T1w.nii.gz", (30, 34, 20), affine)
    seen = []

    def fake_native(model, image, tta, preprocessing, qc=False):  # the real one runs ANTs (minutes); here: a known map
        seen.append(image.shape)
        data = np.zeros(image.shape, np.float32)
        data[10:14, 10:14, 5:9] = 0.9
        probability = nib.Nifti1Image(data, image.affine)
        return probability, probability, preprocessing, None  # no QC members

    monkeypatch.setattr(segment_pipeline, "_segment_native", fake_native)
    assert main(["segment", str(t1), "-o", str(tmp_path / "out"), "--model", str(tiny_model)]) == 0
    mask = nib.load(tmp_path / "out" / "sub-02" / "anat" / "sub-02_space-orig_label-L_desc-lesionkit_mask.nii.gz")
    assert seen == [(30, 34, 20)]
    assert mask.shape == (30, 34, 20) and np.asarray(mask.dataobj).sum() == 64
    np.testing.assert_allclose(mask.affine, affine)


def test_exit_codes(tmp_path, tiny_model):
    t1 = _write(tmp_path / "sub-03_T1w.nii.gz", (8, 8, 8), np.eye(4))
    assert main(["segment", str(tmp_path / "missing.nii.gz"), "-o", str(tmp_path / "o")]) == 3
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"junk")
    assert main(["segment", str(t1), "-o", str(tmp_path / "o"), "--model", str(junk)]) == 3
    assert main(["segment", str(t1), "-o", str(tmp_path / "o"), "--threshold", "1.5"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["segment", str(t1)])  # no -o
    assert exc.value.code == 2
    assert not (tmp_path / "o").exists()
    assert main(["segment", str(t1), "-o", str(tmp_path / "o"), "--min-size", "-1"]) == 2


def test_min_size_is_in_cubic_millimetres_and_defaults_to_the_checkpoints(tmp_path, monkeypatch):
    affine = np.diag([1.2, 1.2, 1.5, 1.0])  # 2.16 mm³ voxels: the 64-voxel lesion below is 138 mm³
    t1 = _write(tmp_path / "in" / "sub-04_T1w.nii.gz", (30, 34, 20), affine)

    def fake_native(model, image, tta, preprocessing, qc=False):
        data = np.zeros(image.shape, np.float32)
        data[10:14, 10:14, 5:9] = 0.9
        probability = nib.Nifti1Image(data, image.affine)
        return probability, probability, preprocessing, None  # no QC members

    monkeypatch.setattr(segment_pipeline, "_segment_native", fake_native)
    config = NetworkConfig(widths=[8, 16], stem_stride=2)
    model = save_checkpoint(tmp_path / "m.pt", build_network(config), config, min_size_mm3=150.0)
    name = "sub-04_space-orig_label-L_desc-lesionkit_mask.nii.gz"

    def voxels(*flags):
        out = tmp_path / f"out{len(flags)}"
        assert main(["segment", str(t1), "-o", str(out), "--model", str(model), *flags]) == 0
        return int(np.asarray(nib.load(out / "sub-04" / "anat" / name).dataobj).sum())

    assert voxels() == 0  # the checkpoint's 150 mm³ removes the 138 mm³ lesion
    assert voxels("--min-size", "100") == 64  # 138 mm³ ≥ 100 mm³, although 64 voxels < 100
