"""The scoring worker: claim a job, score it while a heartbeat thread renews the lease, store, repeat."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback

from lesionkit.challenge.jobs import LeaseLost, claim_job, fail_job, heartbeat
from lesionkit.challenge.scoring import score_job
from lesionkit.web.database import Database

__all__ = ["run_worker", "work_one"]

log = logging.getLogger("lesionkit.challenge")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def work_one(db: Database, worker: str | None = None, lease_seconds: float = 60.0) -> str | None:
    """Claim and score one job; returns the submission's new status, or None when the queue is empty."""
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
        return score_job(db, job_id, worker)
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
               idle_exit: float | None = None, stop: threading.Event | None = None) -> int:
    """Process jobs until interrupted (``once``: stop when the queue is empty; ``idle_exit``: after that many
    idle seconds; ``stop``: when the event is set, between jobs). Returns the number of jobs processed."""
    worker = worker_name()
    done, idle_since = 0, time.monotonic()
    log.info("worker %s started", worker)
    while stop is None or not stop.is_set():
        status = work_one(db, worker, lease_seconds)
        if status is not None:
            done += 1
            idle_since = time.monotonic()
            continue
        if once or (idle_exit is not None and time.monotonic() - idle_since >= idle_exit):
            return done
        if stop is not None:
            stop.wait(poll_seconds)
        else:
            time.sleep(poll_seconds)
    return done
