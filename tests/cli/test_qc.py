import json

import nibabel as nib
import numpy as np
import pytest

from lesionkit.cli import main
from lesionkit.qc import QC_COLUMNS, read_qc_table
from tests.pipeline._data import tiny_model, write_bids


@pytest.fixture(scope="module")
def segmented(tmp_path_factory):
    """Three tiny 2 mm subjects segmented by ``lesionkit segment`` with QC (the default) and without it."""
    tmp_path = tmp_path_factory.mktemp("qc")
    bids, model = write_bids(tmp_path / "bids", 3), tiny_model(tmp_path / "m.pt")
    for name, extra in (("with", []), ("without", ["--no-qc"]),
                        ("stroke", ["--expect-lesions", "--min-size", "1e9"])):  # every mask empty
        assert main(["segment", str(bids), "-o", str(tmp_path / name), "--model", str(model), *extra]) == 0
    return tmp_path


def test_segment_records_qc_in_every_sidecar_and_writes_qc_tsv(segmented, capsys):
    out = segmented / "with"
    header = (out / "qc.tsv").read_text().splitlines()[0].split("\t")
    assert header == list(QC_COLUMNS)
    table = read_qc_table(out / "qc.tsv")
    assert table["case_id"].tolist() == ["sub-01_ses-1", "sub-02_ses-1", "sub-03_ses-1"]
    assert set(table["qc_flag"]) <= {"ok", "check"} and table["qc_score"].between(0, 1).all()
    assert (table["members"] == 2).all() and table["member_dice"].between(0, 1).all()
    sidecars = sorted(out.glob("sub-*/ses-1/anat/*_mask.json"))
    assert len(sidecars) == 3
    for sidecar in sidecars:
        record = json.loads(sidecar.read_text())
        assert record["qc"]["members"] == ["net1", "net1_flipped"] and record["qc"]["cohort"]["cases"] == 3
        assert record["Provenance"]["parameters"]["qc"] is True
        assert set(record["qc"]["features"]) >= {"member_dice", "entropy_lesion", "volume_mm3", "edge_share"}
    # QC adds the flipped pass but never changes the outputs
    for prob in sorted(out.glob("sub-*/ses-1/anat/*_probseg.nii.gz")):
        other = segmented / "without" / prob.relative_to(out)
        np.testing.assert_array_equal(np.asarray(nib.load(prob).dataobj), np.asarray(nib.load(other).dataobj))
    assert not (segmented / "without" / "qc.tsv").exists()
    assert all("qc" not in json.loads(p.read_text()) for p in (segmented / "without").glob("sub-*/*/anat/*.json"))
    assert "qc.tsv" in (out / ".bidsignore").read_text().split()


def test_qc_collects_existing_folders(segmented, capsys):
    capsys.readouterr()
    assert main(["qc", str(segmented / "without"), "-o", str(segmented / "report")]) == 0
    printed = capsys.readouterr().out
    assert "3 case(s)" in printed and "3 case(s) without member agreement" in printed
    table = read_qc_table(segmented / "report" / "qc.tsv")
    assert table["member_dice"].isna().all() and table["faint_mm3"].notna().all()  # from the probability maps
    assert not (segmented / "without" / "qc.tsv").exists()
    assert main(["qc", str(segmented / "with"), "-o", str(segmented / "with")]) == 0  # the recorded members are reused
    assert "without member agreement" not in capsys.readouterr().out


def test_qc_refuses_bad_arguments_and_input(segmented, tmp_path, capsys):
    assert main(["qc", str(segmented / "with"), str(segmented / "without")]) == 2
    assert "-o OUT" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["qc", str(tmp_path / "empty")]) == 3
    assert "empty" in capsys.readouterr().err
    (tmp_path / "w.json").write_text("{}")
    assert main(["qc", str(segmented / "with"), "--weights", str(tmp_path / "w.json")]) == 3
    assert "w.json" in capsys.readouterr().err


def test_segment_and_qc_flag_every_empty_mask_when_lesions_are_expected(segmented, tmp_path):
    table = read_qc_table(segmented / "stroke" / "qc.tsv")
    assert (table["volume_mm3"] == 0).all() and (table["qc_flag"] == "check").all()
    assert all("expected to have one" in reasons[0] for reasons in table["qc_reasons"])
    assert main(["qc", str(segmented / "stroke"), "-o", str(tmp_path / "plain")]) == 0
    assert "expected to have one" not in (tmp_path / "plain" / "qc.tsv").read_text()
    assert main(["qc", str(segmented / "stroke"), "-o", str(tmp_path / "again"), "--expect-lesions"]) == 0
    assert (read_qc_table(tmp_path / "again" / "qc.tsv")["qc_flag"] == "check").all()
