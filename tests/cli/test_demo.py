import pytest

from lesionkit.cli import main


def test_demo_refuses_an_empty_cohort(tmp_path):
    assert main(["demo", "-o", str(tmp_path), "--subjects", "0"]) == 2


@pytest.mark.slow
def test_demo_runs_the_whole_loop(tmp_path, capsys):
    assert main(["demo", "-o", str(tmp_path / "demo"), "--subjects", "2"]) == 0
    out = capsys.readouterr().out
    assert "report:" in out
    assert list((tmp_path / "demo" / "predictions").rglob("*_desc-lesionkit_mask.nii.gz"))
