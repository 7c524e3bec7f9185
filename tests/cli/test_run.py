import json

import pandas as pd
import pytest

from lesionkit.cli import main
from tests.pipeline._data import tiny_model, validation_errors, write_bids


@pytest.fixture
def bids(tmp_path):
    return write_bids(tmp_path / "bids", 2)


def test_bad_arguments_exit_2_and_bad_input_exits_3(tmp_path, bids, capsys):
    out = str(tmp_path / "out")
    assert main(["run", str(bids), out, "participant", "--threshold", "2"]) == 2
    assert main(["run", str(bids), out, "participant", "--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert main(["run", str(bids), out, "participant", "--queue", "long"]) == 2
    assert main(["run", str(bids), out, "participant", "--steps", "analyze"]) == 2
    assert "needs segment" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["run", str(bids), out, "everyone"])
    assert exc.value.code == 2
    assert main(["run", str(tmp_path / "missing"), out, "participant"]) == 3
    assert main(["run", str(bids), out, "group"]) == 3  # no participant level yet
    assert "run the participant level first" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_failed_subject_exits_1_with_a_summary_and_run_tsv(tmp_path, bids, capsys):
    (bad,) = bids.glob("sub-02/ses-1/anat/*_T1w.nii.gz")
    bad.write_bytes(bad.read_bytes()[:200])
    out = tmp_path / "out"
    model = str(tiny_model(tmp_path / "m.pt"))
    assert main(["run", str(bids), str(out), "participant", "--model", model, "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "1 done, 1 failed" in captured.out and "sub-02_ses-1" in captured.err
    rows = (out / "run.tsv").read_text().splitlines()
    assert rows[1].startswith("sub-01_ses-1\tdone") and rows[2].startswith("sub-02_ses-1\tfailed")
    assert main(["run", str(bids), str(out), "group"]) == 0  # the group level takes the subjects that are done
    assert pd.read_csv(out / "group" / "subjects.tsv", sep="\t")["subject"].tolist() == ["sub-01"]


@pytest.mark.slow
@pytest.mark.ci_slow
def test_participant_then_group_on_a_synthetic_cohort_with_the_shipped_model(tmp_path, capsys):
    cohort, out = tmp_path / "cohort", tmp_path / "derivatives" / "lesionkit"
    assert main(["synth", str(cohort), "--subjects", "2", "--seed", "3", "--resolution", "2", "--quiet"]) == 0
    # The cohort keeps ATLAS's layout: its .bidsignore hides the extra tables, and what stays invalid is only
    # ATLAS's own convention of MNI images (space-) and lesion masks (_mask) as raw data.
    for site in (cohort / "Training").iterdir():
        errors = validation_errors(site)
        assert errors and {(e["code"], e["location"].rsplit("_", 1)[-1]) for e in errors} <= {
            ("ENTITY_NOT_IN_RULE", "T1w.nii.gz"), ("NOT_INCLUDED", "mask.nii.gz")}
    assert main(["run", str(cohort), str(out), "participant", "--quiet"]) == 0
    assert "2 done" in capsys.readouterr().out
    masks = sorted(out.glob("sub-*/ses-1/anat/*_space-MNI152NLin2009aSym_label-L_desc-lesionkit_mask.nii.gz"))
    assert len(masks) == 2
    assert len(list(out.glob("sub-*/ses-1/figures/*_mask.png"))) == 2
    description = json.loads((out / "dataset_description.json").read_text())
    assert description["DatasetType"] == "derivative" and description["GeneratedBy"][0]["Name"] == "lesionkit"

    assert main(["run", str(cohort), str(out), "group"]) == 0
    group = out / "group"
    for name in ("lesions.tsv", "subjects.tsv", "roi_load.tsv", "overlap_count.nii.gz", "overlap_share.nii.gz",
                 "overlap.png", "report.html"):
        assert (group / name).is_file(), name
    lesions = pd.read_csv(group / "lesions.tsv", sep="\t")
    subjects = pd.read_csv(group / "subjects.tsv", sep="\t")
    per_subject = sum(len(pd.read_csv(p, sep="\t")) for p in out.glob("sub-*/ses-1/anat/*_lesions.tsv"))
    assert len(lesions) == per_subject == subjects["n_lesions"].sum() > 0  # the shipped model finds lesions
    assert "<html" in (group / "report.html").read_text().lower()
    assert validation_errors(out) == []

    assert main(["run", str(cohort), str(out), "participant", "--quiet"]) == 0
    assert "2 skipped" in capsys.readouterr().out
