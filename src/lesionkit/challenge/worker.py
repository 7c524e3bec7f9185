"""The scoring worker: claim a job, score it while a heartbeat thread renews the lease, store, repeat.

:func:`run_worker` is one such loop in this process; :func:`run_workers` runs one loop per worker slot of a Dask
cluster (``--jobs N`` local processes, ``--scheduler ADDRESS``, ``--cluster slurm|pbs|sge|lsf``, through
:func:`lesionkit.pipeline.cluster.open_client`). Each Dask task is the whole claim–lease–heartbeat loop, not one
submission's cases: the database stays the only record of who scores what, so a killed Dask worker is just a
killed scoring worker. Its lease expires and another loop claims the job again, and results are written only by
the loop that still holds the job, so each submission is scored exactly once. Dask rescheduling the killed loop
onto a live worker only restores the pool's size; a task holds no state a worker's death could lose. (Scoring one
submission's cases as Dask tasks would put its half-done results in Dask's memory, which dies with the client.)
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import uuid
from typing import TYPE_CHECKING

from lesionkit.challenge.jobs import LeaseLost, claim_job, fail_job, heartbeat, pending_jobs
from lesionkit.challenge.scoring import score_job
from lesionkit.challenge.storage import clean_database_storage
from lesionkit.web.database import Database, database_url

if TYPE_CHECKING:
    from lesionkit.pipeline.cluster import ClusterSpec

__all__ = ["run_worker", "run_workers", "work_one", "worker_name"]

log = logging.getLogger("lesionkit.challenge")
#: Longest wait for a first worker on someone else's scheduler (``--scheduler``).
WAIT_FOR_WORKERS_S = 120


def worker_name(tag: str | None = None) -> str:
    """``host:pid`` (``host:pid/tag`` for one of several loops in a process): what the job table records."""
    name = f"{socket.gethostname()}:{os.getpid()}"
    return f"{name}/{tag}" if tag else name


def work_one(db: Database, worker: str | None = None, lease_seconds: float = 60.0,
             time_limit: float | None = None) -> str | None:
    """Claim and score one job (within ``time_limit`` seconds, default the challenge's); returns the submission's
    new status, or None when the queue is empty."""
    worker = worker or worker_name()
    job_id = claim_job(db, worker, lease_seconds)
    if job_id is None:
        return None
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(lease_seconds / 3):
            try:
                if not heartbeat(db, job_id, worker, lease_seconds):
                    return
            except Exception as error:  # a busy database: try again at the next beat, the lease has slack
                log.warning("job %d: heartbeat failed (%s)", job_id, type(error).__name__)

    thread = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        return score_job(db, job_id, worker, time_limit)
    except LeaseLost:
        log.warning("job %d: lease lost, result discarded", job_id)
        return "lost"
    except Exception as error:  # anything unexpected: retried while attempts remain
        log.error("job %d failed: %s", job_id, type(error).__name__)
        log.debug("%s", traceback.format_exc())
        fail_job(db, job_id, worker, f"internal scoring error ({type(error).__name__})")
        return "error"
    finally:
        stop.set()
        thread.join()


def run_worker(db: Database, lease_seconds: float = 60.0, poll_seconds: float = 1.0, once: bool = False,
               idle_exit: float | None = None, stop=None, name: str | None = None,  # noqa: ANN001
               time_limit: float | None = None) -> int:
    """Process jobs until interrupted; returns the number of jobs processed.

    ``once``: stop when the queue is drained, i.e. nothing is queued and no job is running (a job held by a
    worker that died is waited for until its lease expires, then taken over). ``idle_exit``: stop after that
    many idle seconds. ``stop``: stop between jobs once it is set (a :class:`threading.Event`, or anything with
    ``is_set()`` and ``wait(timeout)`` such as a :class:`distributed.Event`). ``name``: the worker's name in the
    job table (default ``host:pid``). ``time_limit``: seconds per job (default: the challenge's setting).
    Starting, it removes what killed workers and servers left in storage (:func:`clean_database_storage`).
    """
    worker = name or worker_name()
    done, idle_since = 0, time.monotonic()
    clean_database_storage(db)
    log.info("worker %s started", worker)
    while stop is None or not stop.is_set():
        status = work_one(db, worker, lease_seconds, time_limit)
        if status is not None:
            done += 1
            idle_since = time.monotonic()
            continue
        if once and pending_jobs(db) == 0:
            return done
        if idle_exit is not None and time.monotonic() - idle_since >= idle_exit:
            return done
        if stop is not None:
            stop.wait(poll_seconds)
        else:
            time.sleep(poll_seconds)
    return done


def _scoring_loop(index: int, db: str, stop_event: str, lease_seconds: float, poll_seconds: float,
                  once: bool, time_limit: float | None = None) -> int:
    """One Dask task: a :func:`run_worker` loop in the worker process, until ``stop_event`` is set."""
    from distributed import Event

    database = Database(db)
    try:
        return run_worker(database, lease_seconds, poll_seconds, once=once, stop=Event(stop_event),
                          name=worker_name(f"dask-{index}-{uuid.uuid4().hex[:6]}"), time_limit=time_limit)
    finally:
        database.dispose()


def _slots(client) -> int:  # noqa: ANN001
    """Loops to start: the workers the cluster asked for (local processes, or queue jobs × their workers), or
    on someone else's scheduler the worker threads present now."""
    plan = getattr(getattr(client, "cluster", None), "plan", None)
    if plan:
        return len(plan)
    client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS_S)
    return max(1, sum(client.nthreads().values()))


def run_workers(db: str, spec: ClusterSpec, lease_seconds: float = 60.0, poll_seconds: float = 1.0,
                once: bool = False, time_limit: float | None = None) -> int:
    """Scoring loops where ``spec`` says: here (the default spec: one :func:`run_worker`) or one per worker slot of
    a Dask cluster (see the module docstring). Returns the number of jobs processed.

    ``db`` is a URL or SQLite path every worker can open (a SQLite file only for workers on this machine).
    ``once``: every loop stops when the queue is drained. On return, error or interrupt, the loops are told to
    stop after the job in hand (so loops on a cluster outliving this client end too); an interrupt then waits
    for them, and a second interrupt abandons those jobs, which are retried once their leases expire.
    """
    from lesionkit.pipeline.cluster import RESOURCE, open_client

    url = database_url(db)
    with open_client(spec) as client:
        if client is None:
            database = Database(url)
            try:
                return run_worker(database, lease_seconds, poll_seconds, once=once, time_limit=time_limit)
            finally:
                database.dispose()
        from distributed import Event, as_completed, wait

        token = uuid.uuid4().hex[:8]
        stop = Event(f"lesionkit-scoring-stop-{token}", client=client)
        slots = _slots(client)
        keys = [f"lesionkit-scoring-{index}-{token}" for index in range(slots)]
        futures = client.map(_scoring_loop, range(slots), key=keys, pure=False, retries=spec.retries,
                             resources={RESOURCE: 1} if spec.needs_resource else None, db=url,
                             stop_event=stop.name, lease_seconds=lease_seconds, poll_seconds=poll_seconds, once=once,
                             time_limit=time_limit)
        log.info("%d scoring loops started on the Dask cluster", slots)
        done, failed = 0, []
        try:
            for future in as_completed(futures):
                if future.status == "finished":
                    done += future.result()
                    continue
                # the other loops go on; this one's job is safe in the database and retried after its lease
                error = future.exception() if future.status == "error" else RuntimeError(future.status)
                failed.append(error)
                log.error("scoring loop %s failed: %s: %s", future.key, type(error).__name__, error)
        except KeyboardInterrupt:
            stop.set()
            log.warning("stopping after the jobs in hand (interrupt again to abandon them to their leases)")
            wait(futures)
            raise
        finally:
            stop.set()
        if failed and len(failed) == len(futures):
            raise RuntimeError(f"every scoring loop failed; the last: {type(failed[-1]).__name__}: {failed[-1]}")
        return done
