"""Accept/reject decisions (lesionkit.review.status) and the QC table (lesionkit.review.qc_table)."""

from __future__ import annotations

import pytest

from lesionkit.io import InvalidInputError
from lesionkit.review import ReviewFolder, StaleVersionError
from lesionkit.review.qc_table import read_qc_table
from lesionkit.review.status import read_decisions, write_decision
from tests.review._folders import write_folder


def test_decisions_are_recorded_with_the_mask_version_and_cleared(tmp_path):
    folder = ReviewFolder(write_folder(tmp_path / "deriv"), reviewer="ada")
    case = folder.case("sub-r001s002_ses-1")
    decision = folder.set_status(case.id, "accepted", version=folder.version(case))
    assert decision.status == "accepted" and decision.reviewer == "ada"
    table = (folder.root / "review.tsv").read_text().splitlines()
    assert table[0] == "case_id\tstatus\treviewer\ttime\tmask_sha256"
    assert table[1].startswith("sub-r001s002_ses-1\taccepted\tada\t") and table[1].endswith(folder.version(case))
    assert folder.summary(case)["status"] == "accepted"
    assert (folder.root / ".bidsignore").read_text() == "review.tsv\n"  # the folder is a BIDS derivative
    folder.set_status(case.id, "rejected", version=folder.version(case), reviewer="grace")
    assert read_decisions(folder.root)[case.id].reviewer == "grace"
    assert folder.set_status(case.id, "todo", version=folder.version(case)) is None
    assert read_decisions(folder.root) == {} and folder.summary(case)["status"] == "to review"


def test_a_decision_about_an_older_version_is_refused(tmp_path):
    folder = ReviewFolder(write_folder(tmp_path / "deriv"))
    case = folder.case("sub-r001s001_ses-1")
    old = folder.version(case)
    import numpy as np

    folder.save_correction(case.id, np.zeros(case.shape, bool), base_version=old)
    with pytest.raises(StaleVersionError):
        folder.set_status(case.id, "accepted", version=old)
    assert read_decisions(folder.root) == {}
    with pytest.raises(ValueError, match="status"):
        folder.set_status(case.id, "maybe", version=folder.version(case))
    with pytest.raises(ValueError, match="status"):
        write_decision(folder.root, case.id, "maybe", "ada", "0" * 64)


def test_qc_table_rows_and_refusals(tmp_path):
    write_folder(tmp_path / "deriv")
    table = read_qc_table(tmp_path / "deriv")
    assert table["sub-r001s002_ses-1"].suspect and table["sub-r001s002_ses-1"].score == 0.9
    assert table["sub-r001s001_ses-1"].reasons == () and not table["sub-r001s001_ses-1"].suspect
    assert read_qc_table(tmp_path) is None
    (tmp_path / "qc.tsv").write_text("subject\tqc_score\tqc_flag\nr001s001\tlow\tok\n")
    with pytest.raises(InvalidInputError, match="qc_score 'low'"):
        read_qc_table(tmp_path)
    (tmp_path / "qc.tsv").write_text("name\tscore\nx\t1\n")
    with pytest.raises(InvalidInputError, match="case_id or subject"):
        read_qc_table(tmp_path)
    (tmp_path / "qc.tsv").write_text("subject\tsession\tqc_score\tqc_flag\tqc_reasons\tdice_tta\n"
                                     "sub-r001s001\tn/a\t0.7\tcheck\ttiny lesion\t0.4\n")
    (row,) = read_qc_table(tmp_path).values()
    assert row.case_id == "sub-r001s001" and row.session is None and row.extra == {"dice_tta": "0.4"}
