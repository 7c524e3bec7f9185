import json

from lesionkit.io import load_cohort
from lesionkit.pipeline import run_subjects
from lesionkit.pipeline.derivatives import BIDSIGNORE, finish_derivatives
from tests.pipeline._data import tiny_model, validation_errors, write_bids


def test_dataset_files_are_written_once_and_a_users_bidsignore_is_kept(tmp_path):
    (tmp_path / ".bidsignore").write_text("notes/\n")
    (tmp_path / "README.md").write_text("my own words\n")
    finish_derivatives(tmp_path, "lesionkit")
    finish_derivatives(tmp_path, "lesionkit")
    lines = (tmp_path / ".bidsignore").read_text().splitlines()
    assert lines == ["notes/", *BIDSIGNORE]
    assert (tmp_path / "README.md").read_text() == "my own words\n"
    description = json.loads((tmp_path / "dataset_description.json").read_text())
    assert description["DatasetType"] == "derivative" and description["GeneratedBy"][0]["Name"] == "lesionkit"


def test_segmentation_derivatives_pass_the_bids_validator(tmp_path):
    out = tmp_path / "derivatives"
    report = run_subjects(load_cohort(write_bids(tmp_path / "bids", 1)), out, ("segment", "analyze"),
                          model=tiny_model(tmp_path / "m.pt"), progress=False)
    assert report.count("done") == 1 and (out / "run.tsv").exists() and (out / "README.md").exists()
    assert validation_errors(out) == []
    (out / "stray.txt").write_text("x")  # the check itself works: a file BIDS does not know is an error
    assert [e["location"] for e in validation_errors(out)] == ["/stray.txt"]  # by the file, not a release's code
