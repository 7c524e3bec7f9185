"""Scoring workers (lesionkit.challenge.worker): ``once`` drains the queue, taking over a dead worker's job after
its lease; on Dask (a real ``distributed.LocalCluster`` of worker processes, SQLite and PostgreSQL) every
submission is scored exactly once, also when a worker process is killed with SIGKILL mid-job."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from sqlalchemy import func, select

from lesionkit.challenge.jobs import claim_job
from lesionkit.challenge.tables import CaseResult, Job, Submission
from lesionkit.challenge.worker import run_worker, run_workers
from lesionkit.pipeline.cluster import ClusterSpec
from tests.challenge.conftest import make_challenge, wait_for_running_job
from tests.challenge.test_jobs import _submit


@pytest.fixture
def db(tmp_path, db_url):
    database = make_challenge(tmp_path, db_url)
    yield database
    database.dispose()


def _scored_once(db, n: int) -> list[Job]:  # noqa: ANN001
    """Every submission scored, each job done, every case result stored once; returns the jobs."""
    with db.read() as session:
        jobs = list(session.scalars(select(Job).order_by(Job.id)))
        assert len(jobs) == n and {j.status for j in jobs} == {"done"}
        assert {s.status for s in session.scalars(select(Submission))} == {"scored"}
        assert session.scalar(select(func.count()).select_from(CaseResult)) == 3 * n
        return jobs


def test_once_drains_the_queue_and_takes_over_a_dead_workers_job(db, tmp_path):
    _submit(db, tmp_path, n=2)
    assert claim_job(db, "ghost:1", lease_seconds=1.0) is not None  # a worker that died holding job 1
    start = time.monotonic()
    assert run_worker(db, lease_seconds=5.0, poll_seconds=0.1, once=True, name="drainer") == 2
    assert time.monotonic() - start >= 0.9  # it waited for the lease instead of leaving job 1 behind
    jobs = _scored_once(db, 2)
    assert [(j.attempts, j.worker) for j in jobs] == [(2, "drainer"), (1, "drainer")]


def test_the_default_spec_runs_one_loop_here(tmp_path):
    db = make_challenge(tmp_path)
    _submit(db, tmp_path, n=2)
    assert run_workers(str(tmp_path / "challenge.db"), ClusterSpec(), poll_seconds=0.1, once=True) == 2
    assert {j.worker.split(":")[1] for j in _scored_once(db, 2)} == {str(os.getpid())}
    db.dispose()


@pytest.mark.slow
def test_a_pool_of_dask_worker_processes_scores_each_submission_once(db, db_url, tmp_path):
    _submit(db, tmp_path, n=4)
    done = run_workers(db_url, ClusterSpec(jobs=2), lease_seconds=10.0, poll_seconds=0.1, once=True)
    assert done == 4
    jobs = _scored_once(db, 4)
    assert all(j.attempts == 1 for j in jobs)
    pids = {j.worker.split(":")[1].split("/")[0] for j in jobs}
    assert str(os.getpid()) not in pids and all("/dask-" in j.worker for j in jobs)  # scored in the workers


_SLOW_SCORING = """
import time
import lesionkit.challenge.scoring as scoring
if not hasattr(scoring.evaluate_pair, "slowed"):  # once per process: a worker may run its preload again
    def slow(*args, real=scoring.evaluate_pair, **kwargs):
        time.sleep(1.0)
        return real(*args, **kwargs)
    slow.slowed = True
    scoring.evaluate_pair = slow
"""


@pytest.mark.slow
@pytest.mark.ci_slow
def test_a_dask_worker_killed_mid_job_loses_nothing(db, db_url, tmp_path):
    from distributed import Client, LocalCluster

    _submit(db, tmp_path, n=3)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.run(exec, _SLOW_SCORING, {})  # 1 s per case in these two processes (not in their replacements)
        result: dict = {}

        def pool() -> None:
            try:
                result["done"] = run_workers(db_url, ClusterSpec(scheduler=cluster.scheduler_address),
                                             lease_seconds=2.0, poll_seconds=0.1, once=True)
            except BaseException as error:  # noqa: BLE001 - reported by the assertion below
                result["error"] = error

        thread = threading.Thread(target=pool)
        thread.start()
        victim = wait_for_running_job(db, 120)
        assert victim is not None, "no job started"
        time.sleep(1.2)  # mid-job: a case or so scored, nothing stored yet
        with db.read() as session:
            job = session.get(Job, victim.id)
            assert (job.status, job.attempts) == ("running", 1)
            assert session.scalar(select(func.count()).select_from(CaseResult)
                                  .where(CaseResult.submission_id == job.submission_id)) == 0
        os.kill(int(victim.worker.split(":")[1].split("/")[0]), signal.SIGKILL)
        thread.join(180)
        assert not thread.is_alive() and "error" not in result, result
    jobs = _scored_once(db, 3)
    attempts = {j.id: j.attempts for j in jobs}
    assert attempts.pop(victim.id) == 2 and set(attempts.values()) == {1}  # retried once, after the lease
    assert next(j for j in jobs if j.id == victim.id).worker != victim.worker


@pytest.mark.slow
def test_a_terminated_pool_finishes_the_jobs_in_hand_first(tmp_path):
    """SIGTERM (or Ctrl-C) to ``lesionkit challenge worker --jobs 2``: the loops stop after their current job,
    which is stored, not abandoned to its 30 s lease."""
    import subprocess
    import sys
    from pathlib import Path

    db = make_challenge(tmp_path)
    _submit(db, tmp_path, n=1)
    preload = tmp_path / "slow_scoring.py"  # loaded by every Dask worker process the command starts
    preload.write_text(_SLOW_SCORING)
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root / "src"), os.environ.get("PYTHONPATH", "")]),
               DASK_DISTRIBUTED__WORKER__PRELOAD=f"['{preload}']")
    proc = subprocess.Popen([sys.executable, "-m", "lesionkit", "challenge", "worker", str(tmp_path / "challenge.db"),
                             "--jobs", "2", "--poll", "0.2", "--lease", "30"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_running_job(db, 120)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, output[-2000:]
    assert "stopping after the jobs in hand" in output
    job = _scored_once(db, 1)[0]
    assert job.attempts == 1  # finished by the loop that had it
    db.dispose()
