"""Bounded load test of the challenge server on loopback: concurrent readers of every leaderboard and a
submission page while submissions score, with a static file as the same-run baseline (one JSON line).

    python benchmarks/challenge_load.py [--clients 50] [--seconds 30]

Set-up: a phase of 30 seeded cases on a 64³ grid and 12 teams with scored submissions. Then the real server
(``lesionkit challenge serve``, one uvicorn process) and one scoring worker (``lesionkit challenge worker``)
run as subprocesses while ``--clients`` asyncio clients (signed in) cycle through the phase leaderboard, the
combined leaderboard, the leaderboard API, a submission page and a static file as fast as they can for
``--seconds``, and a submitter uploads a new submission through the API every second (the upload rate limit
refuses most; those accepted are scored during the run). Reported per endpoint: requests, errors (non-200 or
transport errors), p50/p99 latency and its ratio to the static file's (the peer: what the server does for a
request with no application work, under the same load). Target: every ratio at p99 within 2, zero errors.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
from sqlalchemy import func, select

from lesionkit.challenge.phases import PhaseSettings, add_phase
from lesionkit.challenge.schema import upgrade_database
from lesionkit.challenge.submissions import create_submission
from lesionkit.challenge.tables import Phase, Submission
from lesionkit.challenge.worker import run_worker
from lesionkit.web import auth
from lesionkit.web.database import Database
from lesionkit.web.tables import User

SHAPE, AFFINE = (64, 64, 64), np.diag([2.0, 2.0, 2.0, 1.0])


def cohort(root: Path, n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    grid = np.ogrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    truths = []
    for i in range(n):
        centre, radii = rng.uniform(15, 49, 3), rng.uniform(2, 9, 3)
        mask = (sum(((g - c) / r) ** 2 for g, c, r in zip(grid, centre, radii, strict=True)) <= 1).astype(np.uint8)
        truths.append(mask)
        nib.save(nib.Nifti1Image(mask, AFFINE), root / f"sub-{i + 1:03d}_label-L_desc-T1lesion_mask.nii.gz")
    return truths


def predictions(truths: list[np.ndarray], seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for i, truth in enumerate(truths):
            pred = np.roll(truth, tuple(int(v) for v in rng.integers(-2, 3, 3)), axis=(0, 1, 2))
            zf.writestr(f"sub-{i + 1:03d}_label-L_desc-pred_mask.nii.gz", nib.Nifti1Image(pred, AFFINE).to_bytes())
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def reader(client, paths, offset: int, stop_at: float, latencies: dict, errors: list) -> None:  # noqa: ANN001
    i = offset
    while time.monotonic() < stop_at:
        path = paths[i % len(paths)]
        i += 1
        start = time.perf_counter()
        try:
            response = await client.get(path)
            if response.status_code != 200:
                errors.append(f"{path}: {response.status_code}")
        except Exception as error:  # transport errors count as errors
            errors.append(f"{path}: {type(error).__name__}")
        latencies[path].append(time.perf_counter() - start)


async def submitter(client, token: str, archive: bytes, stop_at: float, sent: list) -> None:  # noqa: ANN001
    while time.monotonic() < stop_at:
        response = await client.post(
            "/api/phases/test/submissions", headers={"Authorization": f"Bearer {token}"},
            data={"method": "load", "description": "load test", "code_url": "https://example.org"},
            files={"archive": ("p.zip", archive, "application/zip")})
        sent.append(response.status_code)
        await asyncio.sleep(1.0)


async def run_clients(url: str, n: int, seconds: float, token: str, archive: bytes, paths: list[str],
                      cookie: str) -> dict:
    import httpx

    latencies: dict[str, list[float]] = {p: [] for p in paths}
    errors: list[str] = []
    sent: list[int] = []
    # keep-alive shorter than uvicorn's 5 s: a connection the server is closing for idleness is never reused
    limits = httpx.Limits(max_connections=n + 5, keepalive_expiry=4.0)
    async with httpx.AsyncClient(base_url=url, timeout=60.0, limits=limits, cookies={"lk_session": cookie}) as client:
        stop_at = time.monotonic() + seconds
        await asyncio.gather(*(reader(client, paths, i, stop_at, latencies, errors) for i in range(n)),
                             submitter(client, token, archive, stop_at, sent))
    return {"latencies": latencies, "errors": errors, "sent": sent}


def _summary(latencies: dict[str, list[float]], static: str) -> dict:
    ms = {p: np.array(v) * 1000 for p, v in latencies.items()}
    base = {q: float(np.percentile(ms[static], q)) for q in (50, 99)}
    out = {}
    for path, values in ms.items():
        p50, p99 = float(np.percentile(values, 50)), float(np.percentile(values, 99))
        out[path] = {"requests": int(values.size), "p50_ms": round(p50, 1), "p99_ms": round(p99, 1),
                     "p50_ratio": round(p50 / base[50], 2), "p99_ratio": round(p99 / base[99], 2)}
    return out


def set_up(work: Path, db_path: str, teams: int) -> tuple:
    """The phase, ``teams`` scored-to-be submissions, the submitter's API token and a reader's session cookie."""
    (work / "truth").mkdir()
    truths = cohort(work / "truth", 30)
    db = Database(db_path)
    upgrade_database(db)
    add_phase(db, "test", work / "truth", PhaseSettings(max_submissions=10**6), challenge_name="load",
              storage=work / "store")
    with db.write() as session:
        phase = session.scalar(select(Phase))
        for t in range(teams):
            user = auth.create_user(session, f"team{t}", f"team{t}@example.org", "load test password")
            create_submission(session, phase, user, io.BytesIO(predictions(truths, t)), f"m{t}", "d",
                              "https://example.org")
        submitter_user = auth.create_user(session, "submitter", "s@example.org", "load test password")
        token = auth.create_api_token(session, submitter_user)
        cookie = auth.start_session(session, session.scalar(select(User).where(User.name == "team0")))
    return db, truths, token, cookie


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--teams", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db_path = str(work / "c.db")
        db, truths, token, cookie = set_up(work, db_path, args.teams)
        run_worker(db, once=True)
        with db.read() as session:
            mine = session.scalar(select(Submission.id).where(Submission.team_name == "team0"))
        static = "/static/style.css"
        paths = ["/phases/test/leaderboard", "/leaderboard", "/api/phases/test/leaderboard", f"/submissions/{mine}",
                 static]
        port = free_port()
        env = dict(os.environ)
        cli = [sys.executable, "-m", "lesionkit.cli", "challenge"]
        server = subprocess.Popen([*cli, "serve", db_path, "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=(work / "server.log").open("w"))
        worker = subprocess.Popen([*cli, "worker", db_path, "--poll", "0.2"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            import httpx

            url = f"http://127.0.0.1:{port}"
            scored = select(func.count()).select_from(Submission).where(Submission.status == "scored")
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(url + "/api/phases", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("the server did not start") from None
                    time.sleep(0.2)
            with db.read() as session:
                before = session.scalar(scored)
            result = asyncio.run(run_clients(url, args.clients, args.seconds, token, predictions(truths, 99), paths,
                                             cookie))
            with db.read() as session:
                after = session.scalar(scored)
        finally:
            for proc in (server, worker):
                proc.terminate()
                proc.wait(20)
        db.dispose()
    requests = sum(len(v) for v in result["latencies"].values())
    endpoints = _summary(result["latencies"], static)
    print(json.dumps({
        "benchmark": "challenge_load",
        "clients": args.clients,
        "seconds": args.seconds,
        "requests": requests,
        "requests_per_s": round(requests / args.seconds, 1),
        "errors": len(result["errors"]),
        "error_examples": result["errors"][:5],
        "endpoints": endpoints,
        "worst_p99_ratio": max(e["p99_ratio"] for e in endpoints.values()),
        "uploads_during_run": len(result["sent"]),
        "uploads_accepted": result["sent"].count(201),
        "scored_during_run": int(after - before),
        "teams_on_board": args.teams,
        "cores": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }))


if __name__ == "__main__":
    main()
