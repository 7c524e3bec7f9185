"""``lesionkit challenge``: init, token, worker, submit, rescore in-process (lesionkit.cli.challenge)."""

from __future__ import annotations

import importlib.util
import threading

import pytest

pytest.importorskip("fastapi")

from lesionkit.cli import main  # noqa: E402
from tests.challenge.conftest import LiveServer, write_predictions, write_truth  # noqa: E402


def test_init_token_submit_worker_rescore(tmp_path, capsys):
    db = str(tmp_path / "c.db")
    truth = write_truth(tmp_path / "truth")
    assert main(["challenge", "init", db, "--name", "CLI challenge", "--phase", "test", "--truth", str(truth),
                 "--admin", "org", "--admin-email", "org@example.org"]) == 0
    assert "phase test added" in capsys.readouterr().out
    assert main(["challenge", "token", db, "--user", "org"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("lk_")
    assert main(["challenge", "token", db, "--user", "nobody"]) == 2

    from lesionkit.challenge.server import create_challenge_app
    from lesionkit.challenge.worker import run_worker
    from lesionkit.web.database import Database

    database = Database(db)
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(database,), kwargs={"poll_seconds": 0.1, "stop": stop})
    preds = write_predictions(tmp_path / "preds", subjects=["r001s001", "r001s002"])
    with LiveServer(create_challenge_app(database)) as server:
        worker.start()
        code = main(["challenge", "submit", server.url, str(preds), "--token", token, "--phase", "test",
                     "--method", "cli", "--description", "from the CLI", "--code-url", "https://example.org"])
        out = capsys.readouterr().out
        assert code == 0, out
        assert "submission 1: scored" in out and "dice:" in out and "sub-r001s003_ses-1" in out
        assert main(["challenge", "submit", server.url, str(preds), "--token", "lk_wrong", "--phase", "test",
                     "--method", "m", "--description", "d", "--code-url", "https://example.org"]) == 1
        assert "upload refused (401)" in capsys.readouterr().err
    stop.set()
    worker.join(30)
    assert main(["challenge", "rescore", db, "--phase", "test"]) == 0
    assert "1 submission(s) queued" in capsys.readouterr().out
    assert main(["challenge", "worker", db, "--once"]) == 0
    assert "1 job(s) processed" in capsys.readouterr().out
    assert main(["challenge", "rescore", db, "--phase", "nope"]) == 2
    # a corrected truth: every submission is scored again against it
    import nibabel as nib
    import numpy as np

    from lesionkit.challenge.tables import Submission

    for path in truth.rglob("*_mask.nii.gz"):
        nib.save(nib.Nifti1Image(np.roll(np.asanyarray(nib.load(path).dataobj), 1, axis=0), nib.load(path).affine),
                 path)
    with database.read() as session:
        before = session.get(Submission, 1).summary["dice"]
    assert main(["challenge", "rescore", db, "--phase", "test", "--truth", str(truth)]) == 0
    assert main(["challenge", "worker", db, "--once"]) == 0
    with database.read() as session:
        submission = session.get(Submission, 1)
        assert submission.truth_version == 2 and submission.summary["dice"] > before
    database.dispose()


def test_init_takes_the_truth_as_an_archive(tmp_path, capsys):
    import tarfile

    from lesionkit.challenge.tables import Phase
    from lesionkit.web.database import Database

    truth = write_truth(tmp_path / "truth")
    with tarfile.open(tmp_path / "truth.tar.gz", "w:gz") as tf:
        tf.add(truth, arcname="truth")
    db = str(tmp_path / "c.db")
    assert main(["challenge", "init", db, "--phase", "test", "--truth", str(tmp_path / "truth.tar.gz")]) == 0
    database = Database(db)
    with database.read() as session:
        from sqlalchemy import select

        assert len(session.scalar(select(Phase)).cases) == 3
    database.dispose()
    assert not list((tmp_path / "c.db.files").glob("truth-unpack-*"))  # the scratch folder is gone
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 truncated")
    assert main(["challenge", "init", db, "--phase", "other", "--truth", str(tmp_path / "bad.zip")]) == 3
    assert "truth archive" in capsys.readouterr().err


def test_init_refuses_bad_input(tmp_path, capsys):
    db = str(tmp_path / "c.db")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["challenge", "init", db, "--phase", "test", "--truth", str(empty)]) == 3
    assert main(["challenge", "init", db, "--phase", "Bad Name", "--truth", str(write_truth(tmp_path / "t"))]) == 2
    assert main(["challenge", "init", db, "--phase", "test", "--truth", str(tmp_path / "t"), "--admin", "x"]) == 2
    assert "--admin needs --admin-email" in capsys.readouterr().err
    past = ["--closes", "2020-01-01T00:00"]
    assert main(["challenge", "init", db, "--phase", "test", "--truth", str(tmp_path / "t"), *past]) == 2
    assert "closing date 2020-01-01 00:00 UTC is in the past" in capsys.readouterr().err


@pytest.mark.parametrize(("extra", "message"), [
    (["--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"], "choose one of"),
    (["--queue", "short"], "need --cluster"),
    (["--jobs", "0"], "at least 1"),
    (["--lease", "0"], "must be positive"),
])
def test_worker_refuses_bad_dask_options(tmp_path, capsys, extra, message):
    db = str(tmp_path / "c.db")
    assert main(["challenge", "init", db, "--phase", "test", "--truth", str(write_truth(tmp_path / "t"))]) == 0
    assert main(["challenge", "worker", db, "--once", *extra]) == 2
    captured = capsys.readouterr()
    assert message in captured.out + captured.err


def test_missing_server_extra_exits_2(monkeypatch, capsys, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "fastapi" else real(name, *a))
    assert main(["challenge", "worker", str(tmp_path / "c.db")]) == 2
    assert "lesionkit[server]" in capsys.readouterr().err


def test_help_lists_challenge(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "challenge" in capsys.readouterr().out


def test_serve_on_an_empty_database_exits_2(tmp_path, capsys):
    assert main(["challenge", "serve", str(tmp_path / "empty.db")]) == 2
    assert "lesionkit challenge init" in capsys.readouterr().err
    (tmp_path / "other.db").write_bytes(b"")
    assert main(["challenge", "serve", str(tmp_path / "other.db")]) == 2
    assert "other.db: holds no challenge" in capsys.readouterr().err


def test_token_and_password_reset(tmp_path, capsys):
    db = str(tmp_path / "c.db")
    assert main(["challenge", "init", db, "--phase", "test", "--truth", str(write_truth(tmp_path / "t")), "--admin",
                 "org", "--admin-email", "org@example.org", "--job-seconds", "30", "--user-quota-gib", "1"]) == 0
    capsys.readouterr()
    assert main(["challenge", "token", db, "--user", "nobody"]) == 2
    assert "no user 'nobody'" in capsys.readouterr().err
    assert main(["challenge", "password", db, "--user", "org"]) == 0
    new = capsys.readouterr().out.rsplit(": ", 1)[1].strip()
    from lesionkit.challenge.phases import get_challenge
    from lesionkit.web import auth
    from lesionkit.web.database import Database

    database = Database(db)
    with database.write() as session:
        assert auth.authenticate(session, "org", new, "cli").name == "org"
        challenge = get_challenge(session)
        assert (challenge.job_seconds, challenge.user_quota_bytes) == (30.0, 2**30)
    database.dispose()
