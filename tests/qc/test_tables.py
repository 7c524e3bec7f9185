import json

import pandas as pd
import pytest

from lesionkit.io import InvalidInputError
from lesionkit.qc.tables import QC_COLUMNS, read_qc_table, update_sidecar, write_qc_table


def test_the_columns_the_review_app_reads_are_kept():
    # lesionkit review sorts cases by these: renaming or moving one breaks it
    assert QC_COLUMNS[:7] == ("case_id", "subject", "session", "qc_score", "qc_flag", "qc_reasons", "mask")
    assert {"member_dice", "member_volume_cv", "entropy_lesion", "volume_mm3", "n_lesions", "volume_z",
            "count_z", "edge_share", "ventricle_share", "registration_ncc"} <= set(QC_COLUMNS)


def test_the_table_round_trips(tmp_path):
    rows = [{"case_id": "sub-02_ses-1", "subject": "sub-02", "session": "1", "qc_score": 0.8, "qc_flag": "check",
             "qc_reasons": ["flip members disagree (Dice 0.41)", "volume outlier (z=+3.2)"], "volume_mm3": 12.0,
             "member_dice": float("nan")},
            {"case_id": "sub-01_ses-1", "subject": "sub-01", "session": "1", "qc_score": 0.1, "qc_flag": "ok",
             "qc_reasons": [], "volume_mm3": 4000.0}]
    path = write_qc_table(rows, tmp_path / "qc.tsv")
    lines = path.read_text().splitlines()
    assert lines[0].split("\t") == list(QC_COLUMNS)
    assert lines[1].startswith("sub-01_ses-1\t")  # sorted by case id
    assert "flip members disagree (Dice 0.41); volume outlier (z=+3.2)" in lines[2] and "n/a" in lines[2]
    table = read_qc_table(path)
    assert table["qc_reasons"].tolist() == [[], ["flip members disagree (Dice 0.41)", "volume outlier (z=+3.2)"]]
    assert table["session"].tolist() == ["1", "1"] and pd.isna(table["member_dice"]).all()


def test_a_table_without_qc_columns_is_refused(tmp_path):
    (tmp_path / "qc.tsv").write_text("subject\tdice\nsub-01\t0.5\n")
    with pytest.raises(InvalidInputError, match="qc.tsv.*not a QC table"):
        read_qc_table(tmp_path / "qc.tsv")


def test_updating_a_sidecar_keeps_everything_else(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"Type": "Lesion", "Provenance": {"steps": ["segment"]}}))
    update_sidecar(path, {"score": 0.2, "features": {"member_dice": float("nan")}})
    record = json.loads(path.read_text())
    assert record["Provenance"] == {"steps": ["segment"]} and record["Type"] == "Lesion"
    assert record["qc"] == {"score": 0.2, "features": {"member_dice": None}}  # JSON has no NaN
    before = path.stat().st_mtime_ns
    update_sidecar(path, {"score": 0.2, "features": {"member_dice": None}})
    assert path.stat().st_mtime_ns == before  # unchanged: not rewritten
    path.write_text("[1, 2]")
    with pytest.raises(InvalidInputError, match="not an object"):
        update_sidecar(path, {})
