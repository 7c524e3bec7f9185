"""Speed of lesionkit's per-case metric suite against MONAI and DeepMind ``surface_distance``.

Prints ONE JSON line: the summed per-pair median times of

* lesionkit: :func:`lesionkit.metrics.evaluate_pair` (Dice, HD, HD95, ASSD, TPR, precision, volume and
  lesion-count difference, lesion-wise F1) on the uint8 masks as loaded from NIfTI;
* MONAI: ``compute_hausdorff_distance`` (HD and HD95) + ``compute_average_surface_distance``;
* DeepMind: ``compute_surface_distances`` + ``compute_robust_hausdorff`` (100 and 95) +
  ``compute_average_surface_distance`` (given ready-made bool masks, not timed),

the ratio of the faster peer's summed time to lesionkit's (and the same ratio pair by pair), and the
largest relative difference between lesionkit's and MONAI's HD/HD95/ASSD. Pairs are realistic:
truth = a ``lesionkit.synth`` subject's mask on the 197×233×189 ATLAS grid; prediction = the truth
dilated, eroded or shifted, plus a false-positive blob elsewhere in the brain. Everything runs on one CPU thread.

    python benchmarks/metrics_speed.py [--pairs 4] [--repeats 5] [--seed 0] [--source synth|blobs]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings

import numpy as np
from scipy import ndimage as ndi


def _blob_truth(rng: np.random.Generator, shape=(197, 233, 189)) -> tuple[np.ndarray, np.ndarray]:
    """Fallback without lesionkit.synth: an irregular blob in a box-shaped 'brain'."""
    brain = np.zeros(shape, bool)
    brain[30:170, 30:200, 20:160] = True
    r = int(rng.integers(6, 16))
    centre = [int(rng.integers(50, s - 50)) for s in shape]
    grid = np.indices((2 * r + 1,) * 3) - r
    noise = ndi.gaussian_filter(rng.standard_normal(grid.shape[1:]), 2.0)
    blob = (1 - np.sqrt((grid**2).sum(0)) / r + 2 * noise) > 0
    truth = np.zeros(shape, np.uint8)
    truth[tuple(slice(c - r, c + r + 1) for c in centre)] = blob
    return truth, brain


def _synth_truth(seed: int) -> tuple[np.ndarray, np.ndarray]:
    from lesionkit.synth import generate_subject

    subject = generate_subject(seed)
    return subject.mask, subject.tissue > 0


def _perturb(truth: np.ndarray, brain: np.ndarray, rng: np.random.Generator, kind: str) -> np.ndarray:
    mask = truth.astype(bool)
    if kind == "dilated":
        pred = ndi.binary_dilation(mask, iterations=int(rng.integers(1, 3)))
    elif kind == "eroded":
        pred = ndi.binary_erosion(mask)
    else:
        pred = np.roll(mask, int(rng.integers(1, 4)) * int(rng.choice([-1, 1])), axis=int(rng.integers(0, 3)))
    # a false-positive blob in the brain, away from the lesion
    candidates = np.argwhere(brain & ~ndi.binary_dilation(mask, iterations=10))
    centre = candidates[rng.integers(len(candidates))]
    r = int(rng.integers(2, 5))
    grid = np.indices(truth.shape, sparse=True)
    pred |= sum((g - c) ** 2 for g, c in zip(grid, centre, strict=True)) <= r * r
    return pred.astype(np.uint8)


def _median_time(fn, repeats: int) -> tuple[float, object]:
    result = fn()  # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", choices=("synth", "blobs"), default="synth")
    args = parser.parse_args()

    import surface_distance as deepmind
    import torch
    from monai.metrics import compute_average_surface_distance, compute_hausdorff_distance

    from lesionkit.metrics import evaluate_pair

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    rng = np.random.default_rng(args.seed)
    spacing = (1.0, 1.0, 1.0)
    totals = {"lesionkit": 0.0, "monai": 0.0, "deepmind": 0.0}
    max_rel = 0.0
    kinds = ("dilated", "eroded", "shifted")
    volumes, per_pair = [], []
    for index in range(args.pairs):
        truth, brain = _synth_truth(args.seed + index) if args.source == "synth" else _blob_truth(rng)
        pred = _perturb(truth, brain, rng, kinds[index % len(kinds)])
        volumes.append(int(truth.sum()))
        pred_b, truth_b = pred.astype(bool), truth.astype(bool)

        def monai(pred=pred, truth=truth):
            y_pred, y = pred[None, None], truth[None, None]
            return (
                compute_hausdorff_distance(y_pred, y, include_background=True, spacing=spacing).item(),
                compute_hausdorff_distance(y_pred, y, include_background=True, percentile=95, spacing=spacing).item(),
                compute_average_surface_distance(
                    y_pred, y, include_background=True, symmetric=True, spacing=spacing
                ).item(),
            )

        def surface(pred_b=pred_b, truth_b=truth_b):
            distances = deepmind.compute_surface_distances(truth_b, pred_b, spacing)
            return (
                deepmind.compute_robust_hausdorff(distances, 100),
                deepmind.compute_robust_hausdorff(distances, 95),
                deepmind.compute_average_surface_distance(distances),
            )

        ours_t, ours = _median_time(lambda pred=pred, truth=truth: evaluate_pair(pred, truth, spacing), args.repeats)
        monai_t, ref = _median_time(monai, args.repeats)
        deepmind_t, _ = _median_time(surface, args.repeats)
        totals["lesionkit"] += ours_t
        totals["monai"] += monai_t
        totals["deepmind"] += deepmind_t
        per_pair.append(round(min(monai_t, deepmind_t) / ours_t, 1))
        for key, value in zip(("hd", "hd95", "assd"), ref, strict=True):
            max_rel = max(max_rel, abs(ours[key] - value) / max(abs(value), 1e-12))
    fastest = min(("monai", "deepmind"), key=totals.get)
    print(
        json.dumps(
            {
                "benchmark": "metrics_speed",
                "source": args.source,
                "pairs": args.pairs,
                "repeats": args.repeats,
                "grid": list(truth.shape),
                "truth_volumes_mm3": volumes,
                "lesionkit_s": round(totals["lesionkit"], 5),
                "monai_s": round(totals["monai"], 5),
                "deepmind_s": round(totals["deepmind"], 5),
                "fastest_peer": fastest,
                "speedup_vs_fastest_peer": round(totals[fastest] / totals["lesionkit"], 2),
                "speedup_per_pair": per_pair,
                "max_rel_diff_vs_monai": float(f"{max_rel:.3g}"),
            }
        )
    )


if __name__ == "__main__":
    main()
