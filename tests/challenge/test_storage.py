"""Bounded storage and work (lesionkit.challenge.storage, the quotas in submissions, the job time limit in scoring):
uploads under quotas, judged uploads deleted, crash leftovers swept at start-up, a slow archive stopped at the
time limit while the submission behind it is scored."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import zipfile

import nibabel as nib
import numpy as np
import pytest
from sqlalchemy import select

from lesionkit.challenge.phases import PhaseSettings, add_phase, configure_challenge
from lesionkit.challenge.schema import upgrade_database
from lesionkit.challenge.storage import _HOST, ORPHAN_UPLOAD_AGE_S, clean_storage, uploads_folder
from lesionkit.challenge.submissions import SubmissionRefused, UploadTooLarge, create_submission
from lesionkit.challenge.tables import Challenge, Phase, Submission
from lesionkit.challenge.worker import run_worker, work_one
from lesionkit.web import auth
from lesionkit.web.database import Database
from tests.challenge.conftest import PASSWORD, csrf, predictions_zip, sign_up, upload


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_start_up_sweeps_what_killed_processes_left(challenge_db, tmp_path):
    """The issue: a killed worker's scratch folder and a killed server's half-written upload stayed for ever."""
    from fastapi.testclient import TestClient

    from lesionkit.challenge.server import create_challenge_app

    store = tmp_path / "store"
    dead = _dead_pid()
    scratch = store / f"scratch-{_HOST}-{dead}-abc123"
    (scratch / "deep").mkdir(parents=True)
    (scratch / "deep" / "sub-1_mask.nii.gz").write_bytes(b"x" * 1000)
    mine = store / f"scratch-{_HOST}-{os.getpid()}-def456"  # a live process's: kept
    mine.mkdir()
    uploads_folder(store).mkdir(exist_ok=True)
    half = uploads_folder(store) / f".0123abcd.{_HOST}-{dead}-a1b2c3.tmp.upload"
    half.write_bytes(b"y" * 1000)
    orphan = uploads_folder(store) / "feedfacefeedfacefeedfacefeedface.upload"  # no submission names it
    orphan.write_bytes(b"z")
    old = time.time() - ORPHAN_UPLOAD_AGE_S - 10
    os.utime(orphan, (old, old))
    recent = uploads_folder(store) / "0000000000000000000000000000beef.upload"  # maybe being recorded right now
    recent.write_bytes(b"z")
    with TestClient(create_challenge_app(challenge_db)):
        pass
    assert not scratch.exists() and not half.exists() and not orphan.exists()
    assert mine.exists() and recent.exists()
    assert clean_storage(store, set()) == []


def test_quota_per_person_and_invalid_uploads_deleted_when_judged(client, challenge_db, tmp_path):
    archive = predictions_zip(tmp_path)
    configure_challenge(challenge_db, user_quota_bytes=int(len(archive) * 1.5))
    sign_up(client, "quinn")
    assert upload(client, archive).status_code == 303
    refused = upload(client, archive)  # would pass the person's quota: refused while streaming
    assert refused.status_code == 413 and "storage quota" in refused.text
    assert work_one(challenge_db) == "scored"  # scored uploads are kept (rescoring needs them)
    bad = upload(client, b"x" * 100)
    assert bad.status_code == 303
    with challenge_db.read() as session:
        invalid = session.get(Submission, int(bad.headers["location"].rsplit("/", 1)[1]))
        path = uploads_folder(session.scalar(select(Challenge.storage))) / invalid.archive_name
    assert path.exists()
    assert work_one(challenge_db) == "invalid"
    with challenge_db.read() as session:
        assert session.get(Submission, invalid.id).stored_bytes == 0
    assert not path.exists()


def test_total_quota_counts_everyone(challenge_db, tmp_path):
    archive = predictions_zip(tmp_path)
    configure_challenge(challenge_db, total_quota_bytes=len(archive) + 10)
    with challenge_db.write() as session:
        for name in ("rae", "sam"):
            auth.create_user(session, name, f"{name}@example.org", PASSWORD)
    with challenge_db.write() as session:
        user = auth.user_named(session, "rae")
        create_submission(session, session.scalar(select(Phase)), user, io.BytesIO(archive), "m", "d",
                          "https://example.org/x")
    with challenge_db.write() as session, pytest.raises(SubmissionRefused, match="quota"):
        phase = session.scalar(select(Phase))
        create_submission(session, phase, auth.user_named(session, "sam"), io.BytesIO(archive), "m", "d",
                          "https://example.org/x")
    configure_challenge(challenge_db, total_quota_bytes=len(archive) + 100)  # 100 bytes left: cut off mid-copy
    with pytest.raises(UploadTooLarge, match="100 bytes left of your storage quota"):
        with challenge_db.write() as session:
            create_submission(session, session.scalar(select(Phase)), auth.user_named(session, "sam"),
                              io.BytesIO(archive), "m", "d", "https://example.org/x")


def test_api_upload_without_a_token_is_refused_before_the_body_is_read(client):
    from tests.challenge.conftest import ChunkedMultipart

    body = ChunkedMultipart({"method": "m", "description": "d", "code_url": "https://x.org"}, "archive", 64 * 2**20)
    response = client.post("/api/phases/test/submissions", content=body,
                           headers={"Content-Type": body.content_type})
    assert response.status_code == 401
    assert body.sent <= 2**20  # the 64 MiB body was not read
    page = ChunkedMultipart({"csrf_token": csrf(client)}, "archive", 64 * 2**20)
    assert client.post("/phases/test/submit", content=page, headers={"Content-Type": page.content_type}
                       ).status_code == 401
    assert page.sent <= 2**20


# --- the job time limit ---------------------------------------------------------------------------------------

LATTICE_SHAPE = (96, 96, 96)


def _nii(data: np.ndarray) -> bytes:
    return nib.Nifti1Image(data.astype(np.uint8), np.eye(4)).to_bytes()


@pytest.mark.ci_slow
def test_lattice_archive_fails_at_the_time_limit_while_the_next_is_scored(tmp_path):
    """The issue: a 5.4 KB archive (a one-voxel lattice, every voxel its own lesion) held a worker 78 s, and an
    ordinary submission waited behind it. Now the job stops at the limit with the reason, and the next is scored."""
    truth = tmp_path / "truth"
    truth.mkdir()
    cube = np.zeros(LATTICE_SHAPE, np.uint8)
    cube[10:20, 10:20, 10:20] = 1
    subjects = ("a01", "a02", "a03")
    for subject in subjects:
        nib.save(nib.Nifti1Image(cube, np.eye(4)), truth / f"sub-{subject}_label-L_desc-T1lesion_mask.nii.gz")
    db = Database(str(tmp_path / "c.db"))
    upgrade_database(db)
    add_phase(db, "big", truth, PhaseSettings(max_submissions=10), storage=tmp_path / "store")
    lattice = (np.indices(LATTICE_SHAPE).sum(0) % 2 == 0).astype(np.uint8)
    archives = {}
    for kind, mask in (("lattice", lattice), ("ordinary", np.roll(cube, 1, axis=0))):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for subject in subjects:
                zf.writestr(f"sub-{subject}_mask.nii.gz", _nii(mask))
        archives[kind] = buffer.getvalue()
    assert len(archives["lattice"]) < 100_000
    with db.write() as session:
        user = auth.create_user(session, "tess", "tess@example.org", PASSWORD)
        phase = session.scalar(select(Phase))
        ids = [create_submission(session, phase, user, io.BytesIO(archives[k]), k, "d", "https://example.org/x").id
               for k in ("lattice", "ordinary")]
    start = time.monotonic()
    assert run_worker(db, poll_seconds=0.1, once=True, time_limit=1.0) == 2
    elapsed = time.monotonic() - start
    with db.read() as session:
        slow, fine = (session.get(Submission, i) for i in ids)
        assert slow.status == "failed" and "time limit of 1 s" in slow.error and slow.stored_bytes == 0
        assert fine.status == "scored" and fine.summary["dice"] > 0.5
        store = session.scalar(select(Challenge.storage))
    assert not (uploads_folder(store) / slow.archive_name).exists()
    assert elapsed < 60
    assert not list((tmp_path / "store").glob("scratch-*"))  # the killed child's scratch folder is gone too
    db.dispose()
