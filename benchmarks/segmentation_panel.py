"""The fixed validation panel of the default segmentation model: where it finds lesions and where it fails.

Five sets, built once into ``--cache`` (deterministic; every model is scored on the same images):

* ``realistic``: 36 subjects of ``lesionkit synth --preset realistic --seed 4100`` (acquisitions calibrated to
  research and clinical scans, a third of the lesioned subjects with small lesions only, lesion-free ones);
* ``classic``: the model card's classic held-out, ``lesionkit synth --preset classic --seed 2000`` (20);
* ``s1_painted``: pycortex's real healthy head ``S1`` (BSD-2; ``lesionkit preprocess`` into MNI space) with real
  lesion tracings of ``--masks`` (ATLAS grid) painted in as chronic cavities at their traced places: 8 cases with
  a whole tracing, 8 with one to three lacune-sized pieces (20–600 mm³) cut from tracings;
* ``s1_degraded``: the same 16 cases acquired like older or clinical scans (3–5 mm slices, WM SNR 8–15, bias
  30–50 % peak to peak, gamma 0.7–1.05; every third stored in 8 bits);
* ``s1_healthy``: S1 itself: every predicted voxel is a false lesion.

Not used here (reserved for independent measurement): niivue's ``chris_t1`` and ``otsu``, Colin27 and
brainchop's ``t1_crop``. Each model (``shipped`` = the default model, or checkpoint paths) predicts every case
in MNI space with its own threshold and minimum lesion size. Per set, one JSON line: mean Dice over lesioned
cases, lesion-wise F1, the share of true lesions detected per size bin (< 100, 100–500, 500–2,000, > 2,000 mm³;
6-connected components, detected = one voxel overlaps, the ATLAS rule), the median predicted/true volume, and
false lesions (count and mm³) per lesion-free case.

    python benchmarks/segmentation_panel.py --cache DIR --s1 S1_MNI_T1W --masks ../shared/data/real-lesion-masks \\
        [MODEL ...] [--sets realistic classic ...]

``S1_MNI_T1W``: ``python -c "import benchmarks.real_healthy as r; print(r.fetch_s1(...))"``, then
``lesionkit preprocess S1_raw.nii.gz S1_pre``; its ``*_desc-preproc_T1w.nii.gz``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from pathlib import Path

import nibabel as nib
import numpy as np

BINS = ((0.0, 100.0), (100.0, 500.0), (500.0, 2000.0), (2000.0, np.inf))
BIN_NAMES = ("lt100", "100_500", "500_2000", "gt2000")
SETS = ("realistic", "classic", "s1_painted", "s1_degraded", "s1_healthy")
#: v1 (session 7): lesions painted with the generator's fixed 1.5–3 mm gliotic rim, which left lacunes grey-matter
#: bright; v2 (session 8): ``lesion_rim="scaled"`` in the realistic preset and on S1 (CSF-dark cavities). Scores of
#: different versions are not comparable; a cache built by v1 must be rebuilt (remove its realistic/ and s1/).
PANEL_VERSION = "v2"


def _synth(folder: Path, subjects: int, seed: int, preset: str) -> None:
    from lesionkit.synth import PRESETS, generate_cohort

    if not (folder / "Training").exists():
        generate_cohort(folder, subjects, seed, options=PRESETS[preset], jobs=1, progress=False)


def _tissue_levels(image: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(CSF level, WM level, brain mask) of an MNI-space head: WM where the template is surely white matter, CSF
    the median of the brain's voxels darker than half of it (ventricles and sulci)."""
    from lesionkit.io.templates import load_template

    wm_map = np.asanyarray(load_template("wm").dataobj)
    brain = (np.asanyarray(load_template("gm").dataobj) + wm_map) > 0.3
    wm_level = float(np.median(image[wm_map > 0.95]))
    dark = image[brain & (image > 0) & (image < 0.5 * wm_level)]
    return float(np.median(dark)), wm_level, brain


def _pieces(rng: np.random.Generator, tracing: np.ndarray, count: int) -> np.ndarray:
    """Up to ``count`` lacune-sized pieces (20–600 mm³) of a real tracing: the tracing inside a ball around one
    of its voxels, its largest 6-connected part, kept ≥ 6 mm apart."""
    from scipy import ndimage as ndi

    from lesionkit.core import largest_component

    out = np.zeros(tracing.shape, bool)
    voxels = np.argwhere(tracing)
    grid = np.indices(tracing.shape, sparse=True)
    placed = 0
    for _ in range(count * 8):
        target = float(np.exp(rng.uniform(np.log(20.0), np.log(600.0))))
        centre = voxels[rng.integers(len(voxels))]
        radius = (3 * target / (4 * np.pi)) ** (1 / 3) * 1.1
        ball = sum((g - c) ** 2 for g, c in zip(grid, centre, strict=True)) <= radius**2
        piece = largest_component(tracing & ball)
        if 20 <= piece.sum() <= 600 and not (ndi.binary_dilation(out, iterations=6) & piece).any():
            out |= piece
            placed += 1
            if placed == count:
                break
    return out


def _paint(rng: np.random.Generator, image: np.ndarray, mask: np.ndarray, csf: float, wm: float) -> np.ndarray:
    from lesionkit.core import bounding_box, label_components
    from lesionkit.synth.lesions import LesionPlan, PlacedLesion, paint_lesion

    image = image.copy()
    labels, count = label_components(mask)
    for index in range(1, count + 1):
        component = labels == index
        box = bounding_box(component)
        box = tuple(slice(max(s.start - 4, 0), min(s.stop + 4, n)) for s, n in zip(box, image.shape, strict=True))
        lesion = PlacedLesion(LesionPlan("subcortical", "L", float(component.sum())), box, component[box], "")
        paint_lesion(rng, image, lesion, 1.0, csf, wm, rim="scaled")
    return image


def _degrade(rng: np.random.Generator, image: np.ndarray, wm: float, index: int) -> np.ndarray:
    from lesionkit.synth.randomize import Acquisition, apply_acquisition

    acquisition = Acquisition(
        tissue_gain=(1.0,) * 7, lesion_gain=1.0, gamma=float(rng.uniform(0.7, 1.05)),
        bias_strength=float(rng.uniform(0.3, 0.5)), snr=float(rng.uniform(8.0, 15.0)), rician=True,
        slice_thickness=float(rng.uniform(3.0, 5.0)), slice_axis=int(rng.choice(3, p=[0.2, 0.2, 0.6])),
        bits8=index % 3 == 0, intensity_scale=1000.0)
    out = apply_acquisition(rng, np.clip(image, 0, None).astype(np.float32), acquisition, 1.0, wm)
    out[image <= 0] = 0.0  # S1 is defaced and masked outside the head
    return out


def _build_s1(cache: Path, s1: Path, masks: Path) -> None:
    from lesionkit.core import remove_small_lesions
    from lesionkit.io.nifti import save_nifti

    folder = cache / "s1"
    if (folder / "done").exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    head = nib.load(s1)
    image = np.asanyarray(head.dataobj).astype(np.float32)
    csf, wm, brain = _tissue_levels(image)
    files = sorted(masks.glob("*/*_mask.nii.gz"))
    rng = np.random.default_rng(22)
    chosen = rng.choice(len(files), 16, replace=False)
    for index, file_index in enumerate(chosen):
        # without the specks under 10 mm³ that a tracing's 6-connected split leaves (ATLAS's smallest lesions)
        tracing = remove_small_lesions((np.asanyarray(nib.load(files[file_index]).dataobj) > 0) & brain, 10.0)
        mask = tracing if index < 8 else _pieces(rng, tracing, int(rng.integers(1, 4)))
        painted = _paint(rng, image, mask, csf, wm)
        case = f"sub-s1p{index:02d}"
        save_nifti(painted, folder / "painted" / f"{case}_T1w.nii.gz", head.affine)
        save_nifti(_degrade(rng, painted, wm, index), folder / "degraded" / f"{case}_T1w.nii.gz", head.affine)
        for kind in ("painted", "degraded"):
            save_nifti(mask.astype(np.uint8), folder / kind / f"{case}_mask.nii.gz", head.affine)
    save_nifti(image, folder / "healthy" / "sub-s1_T1w.nii.gz", head.affine)
    (folder / "done").write_text("")


def build_panel(cache: Path, s1: Path, masks: Path) -> dict[str, Path]:
    """The panel's folders (built on first use)."""
    _synth(cache / "realistic", 36, 4100, "realistic")
    _synth(cache / "classic", 20, 2000, "classic")
    _build_s1(cache, s1, masks)
    return {"realistic": cache / "realistic", "classic": cache / "classic", "s1_painted": cache / "s1" / "painted",
            "s1_degraded": cache / "s1" / "degraded", "s1_healthy": cache / "s1" / "healthy"}


def _cases(folder: Path) -> list[tuple[str, np.ndarray, np.ndarray | None, np.ndarray]]:
    from lesionkit.io.cohort import load_case_mask, load_cohort

    cases = []
    for case in load_cohort(folder, truth=False, default_role="t1w"):
        image = nib.load(case.t1w)
        truth = None if case.mask is None else np.asanyarray(load_case_mask(case).dataobj) > 0
        cases.append((case.id, np.asanyarray(image.dataobj).astype(np.float32), truth,
                      np.asarray(image.header.get_zooms()[:3], float)))
    return cases


def score_case(pred: np.ndarray, truth: np.ndarray, voxel_mm3: float) -> dict:
    """Per-case figures: Dice, lesion counts, and each true lesion's size and whether it was detected."""
    from lesionkit.core import dice, label_components
    from lesionkit.metrics.lesions import count_lesions

    labels, count = label_components(truth)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:] * voxel_mm3
    hit = np.bincount(labels[pred], minlength=count + 1)[1:] > 0
    counts = count_lesions(pred, truth)
    return {"dice": dice(pred, truth), "f1": counts.f1, "sizes": sizes.tolist(), "hit": hit.tolist(),
            "false_lesions": counts.false_positive, "pred_mm3": float(pred.sum() * voxel_mm3),
            "true_mm3": float(truth.sum() * voxel_mm3)}


def summarize(rows: list[dict]) -> dict:
    lesioned = [r for r in rows if r["true_mm3"] > 0]
    free = [r for r in rows if r["true_mm3"] == 0]
    sizes = np.array([s for r in lesioned for s in r["sizes"]])
    hits = np.array([h for r in lesioned for h in r["hit"]], bool)
    out: dict = {"cases": len(rows), "lesioned": len(lesioned), "lesion_free": len(free)}
    if lesioned:
        out["dice"] = round(float(np.mean([r["dice"] for r in lesioned])), 3)
        out["lesion_f1"] = round(float(np.mean([r["f1"] for r in lesioned])), 3)
        out["volume_ratio_median"] = round(float(np.median([r["pred_mm3"] / r["true_mm3"] for r in lesioned])), 3)
        for (low, high), name in zip(BINS, BIN_NAMES, strict=True):
            inside = (sizes >= low) & (sizes < high)
            out[f"detected_{name}"] = (round(float(hits[inside].mean()), 3) if inside.any() else None)
            out[f"lesions_{name}"] = int(inside.sum())
        out["false_lesions_per_lesioned"] = round(float(np.mean([r["false_lesions"] for r in lesioned])), 2)
    if free:
        out["false_lesions_per_free"] = round(float(np.mean([r["false_lesions"] for r in free])), 2)
        out["false_mm3_per_free"] = [round(r["pred_mm3"]) for r in free]
    return out


def evaluate_model(model_ref: str, folders: dict[str, Path], sets: list[str]) -> Iterator[dict]:
    """One JSON line per set, as each set is scored."""
    import torch

    from lesionkit.model import load_model
    from lesionkit.model.inference import predict_array, threshold_probability

    torch.set_num_threads(1)
    model = load_model(None if model_ref == "shipped" else model_ref)
    for name in sets:
        start, rows = time.time(), []
        for case_id, image, truth, zooms in _cases(folders[name]):
            probability = predict_array(model, image, image_spacing=tuple(zooms))
            voxel_mm3 = float(np.prod(zooms))
            pred = threshold_probability(probability, model.threshold, model.min_size_mm3, voxel_mm3) > 0
            rows.append({"case": case_id, **score_case(pred, np.zeros_like(pred) if truth is None else truth,
                                                        voxel_mm3)})
        yield {"benchmark": "segmentation_panel", "panel": PANEL_VERSION, "set": name, "model": model_ref,
               "threshold": model.threshold, "min_size_mm3": model.min_size_mm3, **summarize(rows),
               "seconds": round(time.time() - start, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", default=["shipped"])
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--s1", type=Path, required=True, help="S1 in MNI space (lesionkit preprocess output)")
    parser.add_argument("--masks", type=Path, required=True, help="real lesion tracings on the ATLAS grid")
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    args = parser.parse_args()
    folders = build_panel(args.cache, args.s1, args.masks)
    for model_ref in args.models:
        for line in evaluate_model(model_ref, folders, args.sets):
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
