"""Speed and memory of :func:`lesionkit.analysis.overlap_maps` against nilearn and a stacked NumPy sum.

Prints ONE JSON line. ``N`` random binary lesion masks on the 197×233×189 ATLAS grid (irregular blobs,
uint8, gzip NIfTI) are written to a temporary folder, then the share map (fraction of subjects per voxel)
is computed three ways from the files, each timed (median of ``--repeats``) and its peak traced memory
measured with :mod:`tracemalloc` (NumPy allocations included):

* lesionkit: ``overlap_maps(paths)`` — streaming, one mask in memory at a time, binary check and grid
  check per file, count (uint16) and share (float32) maps;
* nilearn: ``nilearn.image.mean_img(paths)`` — the field's library for a voxelwise mean;
* stack: ``np.stack([load(p) for p in paths]).mean(0)`` — what a quick script does.

It reports the time ratios peer / lesionkit, the memory ratios peer / lesionkit and the largest absolute
difference of the share maps (must be ~0).

    python benchmarks/overlap_speed.py [--masks 20] [--repeats 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi


def _masks(folder: Path, n: int, seed: int) -> list[Path]:
    from lesionkit.io import ATLAS_AFFINE, ATLAS_SHAPE, save_nifti

    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        mask = np.zeros(ATLAS_SHAPE, np.uint8)
        r = int(rng.integers(6, 20))
        centre = [int(rng.integers(40, s - 40)) for s in ATLAS_SHAPE]
        grid = np.indices((2 * r + 1,) * 3) - r
        noise = ndi.gaussian_filter(rng.standard_normal(grid.shape[1:]), 2.0)
        mask[tuple(slice(c - r, c + r + 1) for c in centre)] = (1 - np.sqrt((grid**2).sum(0)) / r + 2 * noise) > 0
        paths.append(save_nifti(mask, folder / f"sub-{i:03d}_mask.nii.gz", ATLAS_AFFINE, dtype=np.uint8))
    return paths


def _measure(fn, repeats: int) -> tuple[float, int, np.ndarray]:
    result = fn()  # warm-up (imports, caches)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), peak, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--masks", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from nilearn.image import mean_img

    from lesionkit.analysis import overlap_maps

    with tempfile.TemporaryDirectory() as tmp:
        paths = _masks(Path(tmp), args.masks, args.seed)
        runs = {
            "lesionkit": lambda: np.asanyarray(overlap_maps(paths)[1].dataobj),
            "nilearn": lambda: mean_img([str(p) for p in paths], copy_header=True).get_fdata(),
            "stack": lambda: np.stack([np.asanyarray(nib.load(p).dataobj) for p in paths]).mean(axis=0),
        }
        results = {name: _measure(fn, args.repeats) for name, fn in runs.items()}
    ours_time, ours_peak, ours = results["lesionkit"]
    out = {
        "benchmark": "overlap_speed",
        "masks": args.masks,
        "grid": [197, 233, 189],
        "seconds": {name: round(r[0], 3) for name, r in results.items()},
        "peak_mib": {name: round(r[1] / 2**20, 1) for name, r in results.items()},
        "time_ratio_peer_over_lesionkit": {name: round(r[0] / ours_time, 2) for name, r in results.items()
                                           if name != "lesionkit"},
        "memory_ratio_peer_over_lesionkit": {name: round(r[1] / ours_peak, 2) for name, r in results.items()
                                             if name != "lesionkit"},
        "max_abs_share_difference": {name: float(np.max(np.abs(r[2] - ours))) for name, r in results.items()
                                     if name != "lesionkit"},
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
