"""Speed of the synthetic subjects' warp (:func:`lesionkit.synth.deform.warp`) against SciPy's resampling.

Prints ONE JSON line. One random deformation (:func:`~lesionkit.synth.deform.random_deformation`, seeded) of the
MNI152 template T1w on the 197×233×189 ATLAS grid is applied two ways, each on one thread and timed (median of
``--repeats`` after a warm-up):

* lesionkit: ``warp`` — ``torch.nn.functional.grid_sample``, trilinear, zeros outside;
* scipy: ``scipy.ndimage.map_coordinates(order=1, mode="grid-constant")`` (zeros outside, as grid_sample)
  at the same voxel coordinates.

It reports the time ratio scipy / lesionkit and the largest absolute difference of the two warped volumes
(float rounding only). Backs the number in ``synth/deform.py``'s docstring.

    python benchmarks/synth_warp_speed.py [--repeats 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from _timing import median_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch
    from scipy import ndimage

    from lesionkit.io import ATLAS_AFFINE, load_template
    from lesionkit.synth.deform import random_deformation, warp

    torch.set_num_threads(1)
    volume = np.asarray(load_template("t1").dataobj, dtype=np.float32)
    deformation = random_deformation(np.random.default_rng(args.seed), volume.shape, ATLAS_AFFINE)
    # grid_sample's normalised (z, y, x) coordinates back to voxel indices (align_corners=True)
    grid = deformation.grid
    coords = np.stack([(grid[..., 2 - axis] + 1.0) * (volume.shape[axis] - 1) / 2.0 for axis in range(3)])

    ours_s, ours = median_seconds(lambda: warp(volume, deformation), args.repeats)
    peer_s, peer = median_seconds(
        lambda: ndimage.map_coordinates(volume, coords, order=1, mode="grid-constant", cval=0.0), args.repeats)
    out = {
        "benchmark": "synth_warp_speed",
        "grid": list(volume.shape),
        "threads": 1,
        "seconds": {"lesionkit": round(ours_s, 3), "scipy": round(peer_s, 3)},
        "time_ratio_scipy_over_lesionkit": round(peer_s / ours_s, 2),
        "max_abs_difference": float(np.max(np.abs(ours - peer))),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
