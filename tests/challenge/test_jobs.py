"""The durable scoring queue on SQLite and a real PostgreSQL server: leases, retries, SIGKILL.

Tests lesionkit.challenge.jobs (and the worker that drives it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lesionkit.challenge.jobs import claim_job, fail_job, heartbeat, rescore_phase
from lesionkit.challenge.submissions import create_submission
from lesionkit.challenge.tables import CaseResult, Job, Phase, Submission
from lesionkit.challenge.worker import work_one
from lesionkit.web.tables import User
from tests.challenge.conftest import make_challenge, predictions_zip, wait_for_running_job

ROOT = Path(__file__).resolve().parents[2]


def _submit(db, tmp_path, n: int = 1) -> list[int]:  # noqa: ANN001
    archive = tmp_path / "p.zip"
    archive.write_bytes(predictions_zip(tmp_path))
    ids = []
    with db.write() as session:
        admin = session.scalar(select(User).where(User.name == "admin"))
        phase = session.scalar(select(Phase))
        phase.max_submissions = 100
        for _ in range(n):
            with archive.open("rb") as handle:
                ids.append(create_submission(session, phase, admin, handle, "m", "d", "https://x.org").id)
    return ids


@pytest.fixture
def db(tmp_path, db_url):
    database = make_challenge(tmp_path, db_url)
    yield database
    database.dispose()


def test_core_loop_on_each_engine(db, tmp_path):
    (sid,) = _submit(db, tmp_path)
    assert work_one(db) == "scored"
    assert work_one(db) is None
    with db.read() as session:
        submission = session.get(Submission, sid)
        assert submission.status == "scored" and len(submission.results) == 3
        assert submission.summary["dice"] > 0.5 and submission.scorer_version.startswith("lesionkit")


def test_concurrent_claims_never_share_a_job(db, tmp_path):
    _submit(db, tmp_path, n=6)
    claimed: list[int] = []
    lock = threading.Lock()

    def grab(worker: str) -> None:
        while (job := claim_job(db, worker)) is not None:
            with lock:
                claimed.append(job)

    threads = [threading.Thread(target=grab, args=(f"w{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 6


def test_expired_lease_is_retried_then_failed_with_reason(db, tmp_path):
    (sid,) = _submit(db, tmp_path)
    for attempt in range(3):
        job = claim_job(db, f"doomed-{attempt}", lease_seconds=1.0)
        assert job is not None
        assert claim_job(db, "other") is None  # held while the lease runs
        time.sleep(1.1)
    assert claim_job(db, "late") is None  # third lease expired: no fourth attempt
    with db.read() as session:
        job = session.scalar(select(Job))
        assert job.status == "failed" and job.attempts == 3
        assert "gave up after 3 attempts" in session.get(Submission, sid).error


def test_heartbeat_keeps_the_lease_and_a_lost_lease_discards_results(db, tmp_path):
    _submit(db, tmp_path)
    job = claim_job(db, "a", lease_seconds=0.2)
    for _ in range(3):
        time.sleep(0.1)
        assert heartbeat(db, job, "a", lease_seconds=0.2)
    assert claim_job(db, "b") is None
    time.sleep(0.3)
    assert claim_job(db, "b", lease_seconds=30) == job  # a's lease expired
    assert not heartbeat(db, job, "a")
    from lesionkit.challenge.jobs import LeaseLost
    from lesionkit.challenge.scoring import score_job

    with pytest.raises(LeaseLost):
        score_job(db, job, "a")
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(CaseResult)) == 0


def test_errors_retry_then_fail(db, tmp_path):
    _submit(db, tmp_path)
    for _ in range(3):
        job = claim_job(db, "w")
        fail_job(db, job, "w", "internal scoring error (boom)")
    with db.read() as session:
        assert session.scalar(select(Submission)).status == "failed"
        assert session.scalar(select(Job)).error == "internal scoring error (boom)"


def test_rescore_replaces_results(db, tmp_path):
    (sid,) = _submit(db, tmp_path)
    work_one(db)
    assert rescore_phase(db, "test") == 1
    assert rescore_phase(db, "test") == 0  # already queued
    assert work_one(db) == "scored"
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(CaseResult).where(CaseResult.submission_id == sid)) == 3


_SLOW_WORKER = textwrap.dedent("""
    import sys, time
    import lesionkit.challenge.scoring as scoring
    from lesionkit.challenge.worker import run_worker
    from lesionkit.web.database import Database
    real = scoring.evaluate_pair
    def slow(*args, **kwargs):
        time.sleep(1.0)
        return real(*args, **kwargs)
    scoring.evaluate_pair = slow
    run_worker(Database(sys.argv[1]), lease_seconds=2.0, poll_seconds=0.1)
""")


def test_sigkill_mid_scoring_loses_nothing_and_scores_once(db, db_url, tmp_path):
    (sid,) = _submit(db, tmp_path)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WORKER, db_url], env=env)
    try:
        wait_for_running_job(db, 60)
        time.sleep(1.2)  # mid-scoring: the first case is done, the rest are not
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    with db.read() as session:
        job = session.scalar(select(Job))
        assert job.status == "running" and job.attempts == 1
        assert session.scalar(select(func.count()).select_from(CaseResult)) == 0
    assert work_one(db) is None  # the dead worker's lease has not expired yet
    time.sleep(2.2)
    assert work_one(db, "rescuer") == "scored"
    assert work_one(db) is None
    with db.read() as session:
        job = session.scalar(select(Job))
        submission = session.get(Submission, sid)
        assert (job.status, job.attempts, job.worker) == ("done", 2, "rescuer")
        assert submission.status == "scored"
        assert session.scalar(select(func.count()).select_from(CaseResult)) == 3
        assert session.scalar(select(func.count()).select_from(Job)) == 1
