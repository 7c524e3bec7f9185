"""Scaling of a ``segment`` batch on Dask: 24 synthetic 2 mm subjects with 1 and 2 local workers.

Three runs over the same cohort, each in its own subprocess (fresh imports, model loaded inside the
timing), all with one compute thread per subject:

* peer — the plain loop a user would write: ``load_model`` once, then per subject ``load_image``,
  ``lesionkit.pipeline.segment_t1w`` and ``save_nifti`` of the mask and probability map;
* ``jobs=1`` — ``lesionkit.pipeline.run_subjects`` in this process (hashing, staging, provenance, run.tsv);
* ``jobs=2`` — the same on a ``LocalCluster`` of two worker processes (cluster start-up included).

Prints one JSON line: ``throughput_ratio`` = jobs=1 seconds / jobs=2 seconds (target ≥ 1.7 on two
idle cores) and ``overhead_per_subject_s`` = (jobs=1 − peer) / subjects, with the 1-minute load
average at the start and end (the numbers mean little on a busy machine).

    python benchmarks/batch_scaling.py [--subjects 24] [--seed 5] [--model CHECKPOINT]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _peer(data: str, out: str, model: str | None) -> None:
    import numpy as np

    from lesionkit.io import derivative_path, load_cohort, load_image, save_nifti
    from lesionkit.model import load_model
    from lesionkit.pipeline import segment_t1w
    from lesionkit.pipeline.threads import set_compute_threads

    set_compute_threads(1)
    start = time.perf_counter()
    network = load_model(model)
    for case in load_cohort(data):
        result = segment_t1w(load_image(case.t1w), network)
        kwargs = {"space": result.space, "label": "L", "desc": "lesionkit"}
        save_nifti(result.probability, derivative_path(out, case.subject, case.session, "probseg", **kwargs),
                   dtype=np.float32)
        save_nifti(result.mask, derivative_path(out, case.subject, case.session, "mask", **kwargs), dtype=np.uint8)
    print(json.dumps({"seconds": time.perf_counter() - start}))


def _batch(data: str, out: str, model: str | None, jobs: int) -> None:
    import lesionkit.model  # noqa: F401 - imported before the clock, as in the peer
    from lesionkit.io import load_cohort
    from lesionkit.pipeline import ClusterSpec, run_subjects

    start = time.perf_counter()
    report = run_subjects(load_cohort(data), out, ("segment",), model=model, progress=False,
                          spec=ClusterSpec(jobs=jobs, threads=1))
    seconds = time.perf_counter() - start
    assert report.count("done") == len(report.outcomes), report.summary()
    print(json.dumps({"seconds": seconds, "workers": len({o.worker for o in report.outcomes})}))


def _run(*args: str) -> dict:
    result = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=24)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--model", default=None, help="checkpoint (default: the shipped model)")
    parser.add_argument("--part", choices=("peer", "jobs1", "jobs2"), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.part == "peer":
        return _peer(args.data, args.out, args.model)
    if args.part:
        return _batch(args.data, args.out, args.model, int(args.part[-1]))

    from lesionkit.synth import generate_cohort

    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "cohort"
        generate_cohort(data, args.subjects, args.seed, resolution=2, jobs=2, progress=False)
        model = ["--model", args.model] if args.model else []
        runs = {part: _run("--part", part, "--data", str(data), "--out", str(Path(tmp) / part), *model)
                for part in ("peer", "jobs1", "jobs2")}
    n = args.subjects
    print(json.dumps({
        "benchmark": "batch_scaling",
        "subjects": n,
        "resolution_mm": 2,
        "cores": os.cpu_count(),
        "threads_per_subject": 1,
        "peer": "plain loop: load_model once, segment_t1w + save_nifti per subject",
        "peer_seconds": round(runs["peer"]["seconds"], 1),
        "jobs1_seconds": round(runs["jobs1"]["seconds"], 1),
        "jobs2_seconds": round(runs["jobs2"]["seconds"], 1),
        "jobs2_workers_used": runs["jobs2"]["workers"],
        "throughput_ratio": round(runs["jobs1"]["seconds"] / runs["jobs2"]["seconds"], 3),
        "overhead_per_subject_s": round((runs["jobs1"]["seconds"] - runs["peer"]["seconds"]) / n, 3),
        "load_average_1min": [round(load_start, 1), round(os.getloadavg()[0], 1)],
    }))


if __name__ == "__main__":
    main()
