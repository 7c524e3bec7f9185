import json

import nibabel as nib
import numpy as np
import pytest

from lesionkit.io import InvalidInputError, derivative_path
from lesionkit.qc import QCWeights, collect_qc, finish_qc, qc_record, read_qc_table
from lesionkit.qc.features import case_features

SHAPE = (24, 24, 24)
#: Weights of the test's own (not the shipped ones, which are refitted when the model changes)
WEIGHTS = QCWeights(-2.0, {"member_disagreement": 1.0, "volume_high": 1.0}, {"member_disagreement": 0.1,
                    "volume_high": 0.5}, {"member_disagreement": 0.2, "volume_high": 1.0}, 0.5, {"id": "test"})


def _case(root, subject, size, recorded=True, members_agree=True):
    """A lesionkit-like derivative: mask, probability map and sidecar (with a qc object when ``recorded``)."""
    p = np.full(SHAPE, 0.01, np.float32)
    p[4:4 + size, 4:4 + size, 4:4 + size] = 0.9
    mask = (p >= 0.5).astype(np.uint8)
    paths = {}
    for suffix, data in (("mask", mask), ("probseg", p)):
        path = derivative_path(root, subject, "1", suffix, space="MNI152NLin2009aSym", label="L", desc="lesionkit")
        path.parent.mkdir(parents=True, exist_ok=True)
        nib.save(nib.Nifti1Image(data, np.eye(4)), path)
        paths[suffix] = path
    sidecar = paths["mask"].with_name(paths["mask"].name.replace(".nii.gz", ".json"))
    record = {"Type": "Lesion", "Threshold": 0.5, "Provenance": {"steps": ["segment"]}}
    if recorded:
        other = p if members_agree else np.roll(p, size // 2, axis=0)
        features = case_features(p, mask, {"net1": p, "net1_flipped": other})
        record["qc"] = qc_record(features, ["net1", "net1_flipped"])
    sidecar.write_text(json.dumps(record))
    return sidecar


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "pred"
    for i, size in enumerate([4, 5, 4, 5, 4], start=1):
        _case(root, f"{i:02d}", size)
    _case(root, "06", 14, members_agree=False)  # a volume outlier whose members disagree
    _case(root, "07", 5, recorded=False)  # segmented without QC: recomputed, no members
    return root


def test_collect_scores_the_cohort_writes_qc_tsv_and_updates_the_sidecars(folder):
    result = collect_qc([folder], weights=WEIGHTS)
    table = read_qc_table(folder / "qc.tsv")
    assert table["case_id"].tolist() == [f"sub-{i:02d}_ses-1" for i in range(1, 8)]
    assert result.recomputed == 1 and result.without_members == 1 and result.sidecars_updated == 7
    worst = table.sort_values("qc_score").iloc[-1]
    assert worst["case_id"] == "sub-06_ses-1" and worst["qc_flag"] == "check"
    assert worst["volume_z"] > 3 and any("volume outlier" in r for r in worst["qc_reasons"])
    assert worst["mask"] == "sub-06/ses-1/anat/sub-06_ses-1_space-MNI152NLin2009aSym_label-L_desc-lesionkit_mask.nii.gz"
    recomputed = table.set_index("case_id").loc["sub-07_ses-1"]
    assert recomputed["volume_mm3"] == 125 and np.isnan(recomputed["member_dice"])
    sidecar = json.loads(next(folder.glob("sub-06/ses-1/anat/*_mask.json")).read_text())
    assert sidecar["qc"]["cohort"]["cases"] == 7 and sidecar["qc"]["flag"] == "check"
    assert sidecar["qc"]["weights"] == "test"
    assert sidecar["Provenance"] == {"steps": ["segment"]}  # the provenance is kept
    assert sidecar["qc"]["score"] == pytest.approx(worst["qc_score"])


def test_collecting_into_another_folder_leaves_the_inputs_alone(folder, tmp_path):
    before = {p: p.read_bytes() for p in folder.rglob("*.json")}
    result = collect_qc([folder], tmp_path / "elsewhere")
    assert (tmp_path / "elsewhere" / "qc.tsv").is_file() and not (folder / "qc.tsv").exists()
    assert result.sidecars_updated == 0 and before == {p: p.read_bytes() for p in folder.rglob("*.json")}


def test_finish_qc_reads_only_the_recorded_cases(folder, tmp_path):
    result = finish_qc(folder)
    assert len(result.rows) == 6 and result.recomputed == 0
    assert finish_qc(tmp_path / "empty") is None and not (tmp_path / "empty").exists()


def test_bad_folders_are_refused(folder, tmp_path):
    (tmp_path / "nothing").mkdir()
    with pytest.raises(InvalidInputError, match="nothing"):
        collect_qc([tmp_path / "nothing"])
    with pytest.raises(InvalidInputError, match="more than one folder: sub-01_ses-1"):
        collect_qc([folder, folder], tmp_path / "out")
    with pytest.raises(ValueError, match="output folder"):
        collect_qc([folder, folder])


def test_expect_lesions_flags_the_empty_masks_of_a_stroke_cohort(folder, tmp_path):
    _case(folder, "08", 0)  # nothing found
    plain = read_qc_table(collect_qc([folder], tmp_path / "plain", weights=WEIGHTS).table).set_index("case_id")
    assert plain.loc["sub-08_ses-1", "qc_flag"] == "ok"
    stroke = collect_qc([folder], tmp_path / "stroke", weights=WEIGHTS, expect_lesions=True)
    table = read_qc_table(stroke.table).set_index("case_id")
    assert table.loc["sub-08_ses-1", "qc_flag"] == "check"
    assert "expected to have one" in table.loc["sub-08_ses-1", "qc_reasons"][0]
    assert (table.drop(index="sub-08_ses-1")["qc_flag"] == plain.drop(index="sub-08_ses-1")["qc_flag"]).all()
