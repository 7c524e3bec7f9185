"""Validate and score one 300-case submission on the 1 mm ATLAS grid with the challenge server (one JSON line).

    python benchmarks/challenge_scoring.py [--cases 300] [--masks ../shared/data/real-lesion-masks]

Truth: real lesion tracings on the ATLAS grid (197×233×189) when ``--masks`` is given, cycled (mirrored
left-right on the second pass) to ``--cases``; otherwise seeded ellipsoids. Prediction: each truth shifted by
1–2 voxels, saved with nibabel as ``.nii.gz``, zipped. Timed: the whole server path of one submission —
:func:`lesionkit.challenge.worker.work_one` (streamed unpack, header-first validation, truth loading, all
:func:`lesionkit.metrics.evaluate_pair` metrics incl. HD/HD95/ASSD, results stored in SQLite). Peer, same run:
a plain nibabel + NumPy + SciPy loop over the unpacked files computing the four ATLAS metrics (Dice, volume
difference, lesion-count difference, lesion-wise F1; 6-connected components) — the same four case means are
compared.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi
from sqlalchemy import select

from lesionkit.challenge.phases import PhaseSettings, add_phase
from lesionkit.challenge.schema import upgrade_database
from lesionkit.challenge.submissions import create_submission
from lesionkit.challenge.tables import Phase, Submission
from lesionkit.challenge.worker import work_one
from lesionkit.io import ATLAS_AFFINE, ATLAS_SHAPE
from lesionkit.web import auth
from lesionkit.web.database import Database

FACE = ndi.generate_binary_structure(3, 1)


def truth_masks(n: int, masks: Path | None, seed: int = 0):  # noqa: ANN201
    """Yield ``n`` boolean masks on the ATLAS grid."""
    files = sorted(masks.rglob("*_mask.nii.gz")) if masks else []
    rng = np.random.default_rng(seed)
    grid = None
    for i in range(n):
        if files:
            data = np.asanyarray(nib.load(files[i % len(files)]).dataobj) != 0
            yield data[::-1] if (i // len(files)) % 2 else data
            continue
        if grid is None:
            grid = np.ogrid[: ATLAS_SHAPE[0], : ATLAS_SHAPE[1], : ATLAS_SHAPE[2]]
        centre, radii = rng.uniform(40, 150, 3), rng.uniform(3, 20, 3)
        yield sum(((g - c) / r) ** 2 for g, c, r in zip(grid, centre, radii, strict=True)) <= 1


def peer_scores(pred_dir: Path, truth_dir: Path) -> dict[str, float]:
    """The four ATLAS metrics with nibabel + NumPy + SciPy only (what a plain scoring script does)."""
    rows = []
    for truth_path in sorted(truth_dir.glob("*.nii.gz")):
        pred_path = pred_dir / truth_path.name.replace("desc-T1lesion", "desc-pred")
        truth = np.asanyarray(nib.load(truth_path).dataobj) != 0
        pred = np.asanyarray(nib.load(pred_path).dataobj) != 0 if pred_path.exists() else np.zeros_like(truth)
        inter, total = np.count_nonzero(pred & truth), np.count_nonzero(pred) + np.count_nonzero(truth)
        dice = 1.0 if total == 0 else 2 * inter / total
        pred_labels, n_pred = ndi.label(pred, FACE)
        truth_labels, n_truth = ndi.label(truth, FACE)
        tp = len(np.unique(truth_labels[pred & truth])) if inter else 0
        fp = n_pred - (len(np.unique(pred_labels[pred & truth])) if inter else 0)
        fn = n_truth - tp
        f1 = 1.0 if n_pred + n_truth == 0 else tp / (tp + (fp + fn) / 2)
        rows.append((dice, abs(int(pred.sum()) - int(truth.sum())), abs(n_pred - n_truth), f1))
    means = np.array(rows, dtype=float).mean(axis=0)
    return dict(zip(("dice", "volume_difference", "lesion_count_difference", "lesion_f1"), means.tolist(), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--masks", type=Path, help="folder of real lesion masks on the ATLAS grid")
    parser.add_argument("--keep", type=Path, help="work in this folder instead of a temporary one")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        truth_dir, pred_dir = work / "truth", work / "pred"
        truth_dir.mkdir(parents=True, exist_ok=True)
        pred_dir.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(1)
        t0 = time.perf_counter()
        for i, truth in enumerate(truth_masks(args.cases, args.masks)):
            name = f"sub-r{i // 100 + 1:03d}s{i % 100 + 1:03d}_ses-1_space-MNI152NLin2009aSym_label-L"
            truth_file = truth_dir / f"{name}_desc-T1lesion_mask.nii.gz"
            nib.save(nib.Nifti1Image(truth.astype(np.uint8), ATLAS_AFFINE), truth_file)
            pred = np.roll(truth, tuple(int(v) for v in rng.integers(-2, 3, 3)), axis=(0, 1, 2))
            nib.save(nib.Nifti1Image(pred.astype(np.uint8), ATLAS_AFFINE), pred_dir / f"{name}_desc-pred_mask.nii.gz")
        archive = work / "submission.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:  # the masks are gzipped already
            for path in sorted(pred_dir.iterdir()):
                zf.write(path, path.name)
        setup_s = time.perf_counter() - t0
        archive_mb = archive.stat().st_size / 2**20

        db = Database(str(work / "challenge.db"))
        upgrade_database(db)
        t0 = time.perf_counter()
        add_phase(db, "test", truth_dir, PhaseSettings(), challenge_name="bench", storage=work / "store")
        truth_import_s = time.perf_counter() - t0
        with db.write() as session:
            user = auth.create_user(session, "bench", "bench@example.org", "benchmark password")
            with archive.open("rb") as handle:
                sid = create_submission(session, session.scalar(select(Phase)), user, handle, "shift", "d",
                                        "https://example.org").id
        t0 = time.perf_counter()
        status = work_one(db)
        server_s = time.perf_counter() - t0
        with db.read() as session:
            submission = session.get(Submission, sid)
            ours, timings = dict(submission.summary), dict(submission.timings)
        db.dispose()

        t0 = time.perf_counter()
        peer = peer_scores(pred_dir, truth_dir)
        peer_s = time.perf_counter() - t0

    print(json.dumps({
        "benchmark": "challenge_scoring",
        "cases": args.cases,
        "grid": list(ATLAS_SHAPE),
        "truth": "real masks" if args.masks else "ellipsoids",
        "status": status,
        "archive_mb": round(archive_mb, 1),
        "lesionkit_s": round(server_s, 2),
        "lesionkit_unpack_s": round(timings["unpack_s"], 2),
        "lesionkit_validate_s": round(timings["validate_s"], 2),
        "lesionkit_metrics": "dice, hd, hd95, assd, tpr, precision, volume/count difference, lesion F1",
        "peer_s": round(peer_s, 2),
        "peer": "nibabel + NumPy + SciPy loop, 4 ATLAS metrics",
        "speedup_vs_peer": round(peer_s / server_s, 2),
        "max_abs_diff_of_means": max(abs(ours[k] - peer[k]) for k in peer),
        "mean_dice": round(ours["dice"], 4),
        "truth_import_s": round(truth_import_s, 2),
        "setup_s": round(setup_s, 1),
        "cores": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }))


if __name__ == "__main__":
    main()
