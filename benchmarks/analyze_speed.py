"""Speed of ``lesionkit analyze``'s per-subject work against reading the mask it needs (one JSON line).

    python benchmarks/analyze_speed.py COHORT [--subjects 10] [--repeats 3]

For each of the first ``--subjects`` masks of a cohort on the ATLAS grid (e.g. ``lesionkit synth``),
the median of ``--repeats`` runs of

* reading: ``lesionkit.io.load_case_mask`` (gzip + binarisation), the unavoidable peer;
* labelling: ``lesionkit.analysis.label_lesions`` (cc3d) and ``scipy.ndimage.label`` + the same
  size ordering, with the check that both give the same lesion sizes;
* quantifying: ``lesionkit.analysis.quantify_lesions`` (labels, centroids, location, territories).

Printed: summed medians, ``quantify_over_read`` (how many mask reads one quantification costs) and
``scipy_over_cc3d`` (labelling ratio). One CPU thread (the anatomy maps are built before timing).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy import ndimage as ndi  # noqa: E402

from lesionkit.analysis import anatomy, label_lesions, quantify_lesions  # noqa: E402
from lesionkit.io import load_case_mask, load_cohort  # noqa: E402


def _median_time(function, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _scipy_sizes(mask: np.ndarray) -> list[int]:
    labels, n = ndi.label(mask)
    return sorted(np.bincount(labels.ravel())[1:].tolist(), reverse=True) if n else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cohort")
    parser.add_argument("--subjects", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cases = [c for c in load_cohort(args.cohort) if c.mask is not None][: args.subjects]
    anatomy(1)  # cached once per process, as in a cohort run
    totals = {"read": 0.0, "cc3d": 0.0, "scipy": 0.0, "quantify": 0.0}
    same = True
    for case in cases:
        seconds, img = _median_time(lambda case=case: load_case_mask(case), args.repeats)
        totals["read"] += seconds
        mask = np.asanyarray(img.dataobj).astype(bool)
        seconds, (labels, n) = _median_time(lambda mask=mask: label_lesions(mask), args.repeats)
        totals["cc3d"] += seconds
        ours = [int((labels == i).sum()) for i in range(1, n + 1)]
        seconds, theirs = _median_time(lambda mask=mask: _scipy_sizes(mask), args.repeats)
        totals["scipy"] += seconds
        same &= ours == theirs
        seconds, _ = _median_time(lambda m=mask, a=img.affine, c=case: quantify_lesions(m, a, c.id), args.repeats)
        totals["quantify"] += seconds
    print(json.dumps({
        "subjects": len(cases),
        **{f"{key}_s": round(value, 3) for key, value in totals.items()},
        "quantify_over_read": round(totals["quantify"] / totals["read"], 2),
        "scipy_over_cc3d": round(totals["scipy"] / totals["cc3d"], 2),
        "same_lesion_sizes": bool(same),
    }))


if __name__ == "__main__":
    main()
