"""Speed and agreement of the QC template bands (:mod:`lesionkit.qc.regions`) against exact distance maps.

Prints ONE JSON line. On the MNI152 2009a template's brain (1 mm ATLAS grid, as ``qc.regions`` builds it) the
two bands QC looks lesions up in are made two ways, each timed (median of ``--repeats``):

* lesionkit: morphology with the 18-connected neighbourhood (steps of 1 to 1.4 mm) — the edge band is what
  ``EDGE_MM`` erosions remove, the outside region what ``OUTSIDE_MM`` dilations do not reach;
* exact: Euclidean distance maps of the whole grid (``scipy.ndimage.distance_transform_edt``) thresholded at
  the same millimetres.

It reports the time ratio exact / lesionkit and, per band, the share of the grid's voxels (and of the exact
band's voxels) where the two disagree. Backs the comment in ``_regions_1mm``.

    python benchmarks/qc_regions_speed.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from _timing import median_seconds
from scipy import ndimage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from lesionkit.io import load_template
    from lesionkit.qc.regions import EDGE_MM, OUTSIDE_MM

    t1 = np.asarray(load_template("t1").dataobj)
    brain = ndimage.binary_fill_holes(ndimage.binary_closing(t1 > 0.02, iterations=2))
    step = ndimage.generate_binary_structure(3, 2)

    def morphology():
        edge = ~ndimage.binary_erosion(brain, step, iterations=int(EDGE_MM))
        outside = ~ndimage.binary_dilation(brain, step, iterations=int(OUTSIDE_MM))
        return edge, outside

    def exact():
        edge = ndimage.distance_transform_edt(brain) <= EDGE_MM
        outside = ndimage.distance_transform_edt(~brain) > OUTSIDE_MM
        return edge, outside

    ours_s, ours = median_seconds(morphology, args.repeats)
    peer_s, peer = median_seconds(exact, args.repeats)
    differ = {name: (a != b) for name, a, b in zip(("edge", "outside"), ours, peer, strict=True)}
    out = {
        "benchmark": "qc_regions_speed",
        "grid": list(brain.shape),
        "seconds": {"lesionkit": round(ours_s, 3), "exact": round(peer_s, 3)},
        "time_ratio_exact_over_lesionkit": round(peer_s / ours_s, 2),
        "differing_share_of_grid": {k: round(float(v.mean()), 4) for k, v in differ.items()},
        "differing_share_of_band": {k: round(float(v.sum() / b.sum()), 4)
                                    for (k, v), b in zip(differ.items(), peer, strict=True)},
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
