"""``lesionkit synth`` on hostile arguments, a damaged resume record, bad outputs and interrupts."""

import hashlib
import shutil
import signal

import pytest

from lesionkit.cli import main
from tests.cli._hostile import OUTPUT_PROBLEMS, bad_output, files, interrupt_at_temporary, one_line, temporaries
from tests.conftest import make_leftover

SYNTH = ["--subjects", "1", "--seed", "5", "--resolution", "2", "--quiet"]


def _digests(folder):
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in files(folder)}


@pytest.mark.parametrize("flag", [["--seed", "-1"], ["--cohorts", "0"], ["--subjects", "0"], ["--jobs", "0"]])
def test_bad_numbers_are_exit_2_on_stderr(tmp_path, capsys, flag):
    assert main(["synth", str(tmp_path / "out"), *SYNTH, *flag]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and one_line(captured.err).startswith("lesionkit synth: --")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", OUTPUT_PROBLEMS)
def test_unusable_output_is_exit_2_before_any_work(tmp_path, capsys, monkeypatch, kind):
    out, reason = bad_output(kind, tmp_path, monkeypatch)
    assert main(["synth", str(out), *SYNTH]) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"lesionkit synth: cannot write to {out}: ") and reason in line


@pytest.mark.slow
def test_resume_remakes_a_subject_whose_record_is_damaged_and_removes_leftovers(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["synth", str(out), *SYNTH]) == 0
    expected = _digests(out)
    record = next(out.rglob("*_synth.json"))
    record.write_text('{"Seed": 1, broken')
    stale = make_leftover(record.parent, "sub-r001s001_ses-1_space-MNI152NLin2009aSym_T1w.nii.gz")
    capsys.readouterr()
    assert main(["synth", str(out), *SYNTH]) == 0
    assert one_line(capsys.readouterr().err) == (
        f"lesionkit synth: removed 1 temporary file(s) an interrupted run left in {out}")
    assert not stale.exists() and _digests(out) == expected


def test_sigterm_while_writing_leaves_no_temporary(tmp_path):
    out = tmp_path / "out"
    code, stderr, seen = interrupt_at_temporary(["synth", out, *SYNTH], out, signal.SIGTERM)
    assert seen and seen[0].name.endswith(".tmp.nii.gz")
    assert code == 143 and one_line(stderr) == "lesionkit synth: terminated"
    assert temporaries(out) == [] and files(out) == []


@pytest.mark.slow
def test_after_sigkill_the_next_run_cleans_up_and_completes(tmp_path, capsys):
    out = tmp_path / "out"
    reference = tmp_path / "reference"
    assert main(["synth", str(reference), *SYNTH]) == 0
    code, _, seen = interrupt_at_temporary(["synth", out, *SYNTH], out, signal.SIGKILL)
    assert code == -signal.SIGKILL and temporaries(out) == seen  # what SIGKILL leaves behind
    capsys.readouterr()
    assert main(["synth", str(out), *SYNTH]) == 0
    assert "removed 1 temporary file(s)" in one_line(capsys.readouterr().err)
    assert temporaries(out) == [] and _digests(out) == _digests(reference)
    shutil.rmtree(reference)
