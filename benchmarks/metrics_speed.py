"""Speed and agreement of lesionkit's per-case metrics against DeepMind ``surface_distance`` and MONAI, per workload.

Every contestant gets the same uint8 masks on the 197×233×189 ATLAS grid (1 mm) and computes Dice, HD,
HD95 and ASSD; conversions it needs (bool arrays, tensors) are inside its timed call:

* lesionkit: :func:`lesionkit.metrics.evaluate_pair`, which also computes TPR, precision, volume and
  lesion-count difference and lesion-wise F1 (its full suite: it does more, never less);
* DeepMind: ``compute_surface_distances`` + ``compute_robust_hausdorff`` (100 and 95) +
  ``compute_average_surface_distance`` + ``compute_dice_coefficient``;
* MONAI: ``compute_hausdorff_distance`` (HD, and HD95 with ``percentile=95``) +
  ``compute_average_surface_distance(symmetric=True)`` + ``compute_dice``.

Each contestant runs each pair once untimed (warm-up), then ``--repeats`` times; a pair's time is the
median. Everything runs on one thread (``torch.set_num_threads(1)`` and threadpoolctl's limit for BLAS/OpenMP).

Workload classes (``--pairs`` pairs each; truths from ``lesionkit.synth`` subjects of seeds ``--seed`` …):

* ``atlas``: a synth subject's lesion mask (ATLAS-sized); prediction = truth dilated, eroded or shifted;
* ``atlas_distant_fp``: the same pairs plus a false-positive blob (radius 2–4 mm) ≥ 40 mm from any
  true lesion, the case where a whole-volume distance transform or a bounding box of both masks is large;
* ``tiny``: one 10–100 mm³ blob in the brain; prediction = it shifted by 1 voxel or dilated once;
* ``one_empty``: a synth lesion mask against an empty mask (prediction empty, then truth empty);
* ``both_empty``: two empty masks.

Agreement: for each class, the largest relative difference of lesionkit's HD/HD95/ASSD and Dice from each
peer's over the pairs where both are finite, and for the empty classes each peer's values as returned
(the conventions differ: lesionkit returns ``inf`` with one mask empty and 0 with both, DeepMind and MONAI
return ``inf``/``nan``). ``agrees`` = HD/HD95/ASSD within ``--tolerance`` relative of MONAI's (the same
voxel-boundary definitions); DeepMind measures between surface elements (voxel faces), so its
distances differ from both by up to about half a voxel and only the absolute difference is shown.

Prints ONE JSON line: per class, each contestant's summed median seconds, the ratios peer / lesionkit
(above 1: lesionkit is faster) and the agreement.

    python benchmarks/metrics_speed.py [--pairs 3] [--repeats 5] [--seed 0] [--tolerance 1e-3]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
import warnings

import numpy as np
from scipy import ndimage as ndi

CLASSES = ("atlas", "atlas_distant_fp", "tiny", "one_empty", "both_empty")
SPACING = (1.0, 1.0, 1.0)


def _synth_truth(seed: int) -> tuple[np.ndarray, np.ndarray]:
    from lesionkit.synth import generate_subject

    subject = generate_subject(seed)
    return np.asarray(subject.mask, np.uint8), subject.tissue > 0


def _ball(shape, centre, radius: float) -> np.ndarray:
    grid = np.indices(shape, sparse=True)
    return sum((g - c) ** 2 for g, c in zip(grid, centre, strict=True)) <= radius * radius


def _perturb(truth: np.ndarray, rng: np.random.Generator, kind: int) -> np.ndarray:
    mask = truth.astype(bool)
    if kind == 0:
        return ndi.binary_dilation(mask, iterations=int(rng.integers(1, 3)))
    if kind == 1:
        return ndi.binary_erosion(mask)
    return np.roll(mask, int(rng.integers(1, 4)) * int(rng.choice([-1, 1])), axis=int(rng.integers(0, 3)))


def _distant_fp(pred: np.ndarray, truth: np.ndarray, brain: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    far = ndi.distance_transform_edt(~truth.astype(bool)) >= 40
    candidates = np.argwhere(brain & far)
    return pred | _ball(truth.shape, candidates[rng.integers(len(candidates))], int(rng.integers(2, 5)))


def _tiny(brain: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    inner = np.argwhere(ndi.binary_erosion(brain, iterations=5))
    while True:
        truth = _ball(brain.shape, inner[rng.integers(len(inner))], float(rng.uniform(1.3, 2.9)))
        if 10 <= truth.sum() <= 100:
            break
    pred = np.roll(truth, 1, axis=int(rng.integers(0, 3))) if rng.random() < 0.5 else ndi.binary_dilation(truth)
    return pred.astype(np.uint8), truth.astype(np.uint8)


def make_pairs(n: int, seed: int) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """``n`` (pred, truth) uint8 pairs per class, deterministic for a seed."""
    rng = np.random.default_rng(seed)
    pairs: dict[str, list] = {name: [] for name in CLASSES}
    empty = None
    for index in range(n):
        truth, brain = _synth_truth(seed + index)
        empty = np.zeros_like(truth)
        pred = _perturb(truth, rng, index % 3)
        pairs["atlas"].append((pred.astype(np.uint8), truth))
        pairs["atlas_distant_fp"].append((_distant_fp(pred, truth, brain, rng).astype(np.uint8), truth))
        pairs["tiny"].append(_tiny(brain, rng))
        pairs["one_empty"].append((empty, truth) if index % 2 == 0 else (truth, empty))
        pairs["both_empty"].append((empty, empty.copy()))
    return pairs


def lesionkit_metrics(pred: np.ndarray, truth: np.ndarray) -> tuple[float, ...]:
    from lesionkit.metrics import evaluate_pair

    out = evaluate_pair(pred, truth, SPACING)
    return out["dice"], out["hd"], out["hd95"], out["assd"]


def deepmind_metrics(pred: np.ndarray, truth: np.ndarray) -> tuple[float, ...]:
    import surface_distance as deepmind

    pred_b, truth_b = pred.astype(bool), truth.astype(bool)
    distances = deepmind.compute_surface_distances(truth_b, pred_b, SPACING)
    assd = float(np.mean(deepmind.compute_average_surface_distance(distances)))  # mean of the two directions
    dice = float(deepmind.compute_dice_coefficient(truth_b, pred_b))
    return (dice, deepmind.compute_robust_hausdorff(distances, 100), deepmind.compute_robust_hausdorff(distances, 95),
            assd)


def monai_metrics(pred: np.ndarray, truth: np.ndarray) -> tuple[float, ...]:
    import torch
    from monai.metrics import compute_average_surface_distance, compute_dice, compute_hausdorff_distance

    y_pred, y = torch.from_numpy(pred)[None, None], torch.from_numpy(truth)[None, None]
    return (compute_dice(y_pred, y).item(),
            compute_hausdorff_distance(y_pred, y, include_background=True, spacing=SPACING).item(),
            compute_hausdorff_distance(y_pred, y, include_background=True, percentile=95, spacing=SPACING).item(),
            compute_average_surface_distance(y_pred, y, include_background=True, symmetric=True,
                                             spacing=SPACING).item())


CONTESTANTS = {"lesionkit": lesionkit_metrics, "deepmind": deepmind_metrics, "monai": monai_metrics}


def _median_time(fn, pred, truth, repeats: int) -> tuple[float, tuple[float, ...] | str]:
    """Median seconds of ``repeats`` calls after one untimed call, and the values; (nan, the error) if it raises."""
    try:
        result = fn(pred, truth)  # warm-up: each contestant's first call on this pair is not timed
    except Exception as error:  # a peer that cannot handle the input: reported, not hidden
        return math.nan, f"{type(error).__name__}: {error}"
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(pred, truth)
        times.append(time.perf_counter() - start)
    return statistics.median(times), tuple(float(v) for v in result)


def _values(values: tuple[float, ...] | str) -> list | str:
    """JSON-safe values (``inf``/``nan`` as strings), or the error message."""
    return values if isinstance(values, str) else [v if math.isfinite(v) else str(v) for v in values]


def _agreement(ours: list[tuple], theirs: list[tuple]) -> dict:
    """Largest relative (HD/HD95/ASSD, Dice) and absolute (HD/HD95/ASSD) differences over finite pairs."""
    rel, abs_, dice, finite = 0.0, 0.0, 0.0, 0
    for a, b in zip(ours, theirs, strict=True):
        if isinstance(b, str):  # the peer failed on this pair
            continue
        if all(math.isfinite(v) for v in a[1:] + b[1:]):
            finite += 1
            for x, y in zip(a[1:], b[1:], strict=True):
                abs_ = max(abs_, abs(x - y))
                rel = max(rel, abs(x - y) / max(abs(y), 1e-12))
        if math.isfinite(a[0]) and math.isfinite(b[0]):
            dice = max(dice, abs(a[0] - b[0]))
    return {"pairs_compared": finite, "max_rel_diff_distances": float(f"{rel:.3g}"),
            "max_abs_diff_distances_mm": float(f"{abs_:.3g}"), "max_abs_diff_dice": float(f"{dice:.3g}")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3, help="pairs per class")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=1e-3, help="relative HD/HD95/ASSD agreement with MONAI")
    args = parser.parse_args()

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")  # MONAI warns on empty masks; their values are reported below
    pairs = make_pairs(args.pairs, args.seed)
    out: dict = {"benchmark": "metrics_speed", "pairs_per_class": args.pairs, "repeats": args.repeats,
                 "seed": args.seed, "grid": list(pairs["atlas"][0][1].shape), "threads": 1, "classes": {}}
    with threadpool_limits(1):
        for name, class_pairs in pairs.items():
            seconds = {c: 0.0 for c in CONTESTANTS}
            values: dict[str, list] = {c: [] for c in CONTESTANTS}
            failures: dict[str, str] = {}
            for pred, truth in class_pairs:
                for contestant, fn in CONTESTANTS.items():
                    t, v = _median_time(fn, pred, truth, args.repeats)
                    seconds[contestant] += t
                    values[contestant].append(v)
                    if isinstance(v, str):
                        failures.setdefault(contestant, v)
            row = {"truth_volumes_mm3": [int(t.sum()) for _, t in class_pairs],
                   "pred_volumes_mm3": [int(p.sum()) for p, _ in class_pairs],
                   "seconds": {c: None if math.isnan(s) else round(s, 5) for c, s in seconds.items()},
                   "ratio_peer_over_lesionkit": {c: None if math.isnan(seconds[c]) else
                                                 round(seconds[c] / seconds["lesionkit"], 2)
                                                 for c in ("deepmind", "monai")}}
            if failures:
                row["failed"] = failures
            if name in ("one_empty", "both_empty"):  # the first pair: prediction empty (one_empty)
                row["values_dice_hd_hd95_assd"] = {c: _values(v[0]) for c, v in values.items()}
                if len(class_pairs) > 1 and name == "one_empty":  # the second: truth empty
                    row["values_truth_empty"] = {c: _values(v[1]) for c, v in values.items()}
            else:
                agreement = {c: _agreement(values["lesionkit"], values[c]) for c in ("deepmind", "monai")}
                agreement["agrees"] = agreement["monai"]["max_rel_diff_distances"] <= args.tolerance
                row["agreement"] = agreement
            out["classes"][name] = row
    print(json.dumps(out))


if __name__ == "__main__":
    main()
