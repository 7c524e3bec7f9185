"""Batches against real processes: a ``dask scheduler`` and two ``dask worker`` processes, one killed with
SIGKILL mid-run; and a ``lesionkit run`` client interrupted with SIGINT, then started again."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from lesionkit.io import load_cohort
from lesionkit.pipeline import ClusterSpec, run_subjects
from lesionkit.pipeline.subject import STAGING
from tests.pipeline._data import tiny_model, write_bids

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _dask(*args: str, log: Path) -> subprocess.Popen:
    dask = Path(sys.executable).with_name("dask")
    return subprocess.Popen([str(dask), *args], stdout=log.open("w"), stderr=subprocess.STDOUT)


def _check_outputs(out: Path, cases, rows: list[list[str]]) -> None:
    """Every subject exactly once in run.tsv and done, its files whole, nothing half-written anywhere."""
    assert sorted(r[0] for r in rows) == sorted(c.id for c in cases)
    assert {r[1] for r in rows} <= {"done", "skipped"}
    assert not (out / STAGING).exists()
    assert not [p for p in out.rglob("*") if ".tmp" in p.name or p.name.startswith(".")
                and p.name != ".bidsignore"]
    for case in cases:
        (mask,) = out.glob(f"sub-{case.subject}/ses-1/anat/*_desc-lesionkit_mask.nii.gz")
        np.asarray(nib.load(mask).dataobj)  # whole: a truncated gzip would raise here
        record = json.loads(mask.with_name(mask.name.replace(".nii.gz", ".json")).read_text())
        assert all((out / name).is_file() for name in record["Provenance"]["outputs"])


def _rows(out: Path) -> list[list[str]]:
    return [line.split("\t") for line in (out / "run.tsv").read_text().splitlines()[1:]]


@pytest.mark.ci_slow
def test_a_worker_killed_mid_run_loses_no_subject_and_leaves_no_partial_file(tmp_path):
    from distributed import Client

    cases = load_cohort(write_bids(tmp_path / "bids", 6))
    model = tiny_model(tmp_path / "m.pt")
    address = f"tcp://127.0.0.1:{_free_port()}"
    processes = [_dask("scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], "--no-dashboard",
                       log=tmp_path / "scheduler.log")]
    killed: list[str] = []
    try:
        with Client(address, timeout="60s") as watcher:
            for name in ("a", "b"):
                processes.append(_dask("worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                       "--name", name, log=tmp_path / f"worker-{name}.log"))
            watcher.wait_for_workers(2, timeout=120)
            by_name = dict(zip(("a", "b"), processes[1:], strict=True))

            def kill_a_busy_worker() -> None:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline and not killed:
                    for worker, keys in watcher.processing().items():
                        if any(str(k).startswith("lesionkit-") for k in keys):
                            name = watcher.scheduler_info()["workers"][worker]["name"]
                            killed.append(worker)
                            by_name[name].send_signal(signal.SIGKILL)
                            return
                    time.sleep(0.05)

            killer = threading.Thread(target=kill_a_busy_worker)
            killer.start()
            report = run_subjects(cases, tmp_path / "out", ("segment",), model=model, progress=False,
                                  spec=ClusterSpec(scheduler=address))
            killer.join()
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait(timeout=30)
    assert killed, "no worker was busy with a subject"
    assert [o.status for o in report.outcomes] == ["done"] * 6, [o.error for o in report.outcomes]
    rows = _rows(tmp_path / "out")
    _check_outputs(tmp_path / "out", cases, rows)
    survivor = {r[3] for r in rows} - set(killed)
    assert len(survivor) == 1  # the subject the killed worker held was finished by the other one


def test_an_interrupted_client_restarted_skips_the_finished_subjects(tmp_path):
    cases = load_cohort(write_bids(tmp_path / "bids", 8))
    model = tiny_model(tmp_path / "m.pt")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "lesionkit.cli", "run", str(tmp_path / "bids"), str(out), "participant",
               "--steps", "segment", "--model", str(model), "--quiet"]
    # two local workers the first time (the cluster must go down cleanly), the plain loop the second
    client = subprocess.Popen([*command, "--jobs", "2"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 180
    while len(list(out.glob("sub-*/ses-1/anat/*_mask.json"))) < 2 and time.monotonic() < deadline:
        assert client.poll() is None, client.stdout.read()
        time.sleep(0.05)
    client.send_signal(signal.SIGINT)
    assert client.wait(timeout=60) == 130, client.stdout.read()
    finished = {p.name.split("_")[0] for p in out.glob("sub-*/ses-1/anat/*_mask.json")}
    assert 2 <= len(finished) < 8
    assert not (out / STAGING).exists()
    rows = _rows(out)
    assert sorted(r[0] for r in rows) == sorted(c.id for c in cases)
    assert {r[1] for r in rows} <= {"done", "interrupted"}
    # run.tsv lists as done what the client saw finish: the interrupt may land after a subject's last write
    assert {r[0].split("_")[0] for r in rows if r[1] == "done"} <= finished

    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    rows = _rows(out)
    _check_outputs(out, cases, rows)
    assert {r[0].split("_")[0] for r in rows if r[1] == "skipped"} == finished
    assert sum(r[1] == "done" for r in rows) == 8 - len(finished)
