"""Real lesion shapes: 155 tracings of real strokes, shipped as compact crops, placed in a synthetic subject.

The archive ``lesionkit/data/real_lesion_shapes.npz`` holds, per tracing, the largest 6-connected
component of the mask (tracing specks dropped) cropped to its bounding box on the 1 mm ATLAS grid and
packed 8 voxels per byte (``bits``, ``offsets``, ``shapes``, ``corners`` = the box's first voxel on the
ATLAS grid, ``names``). It is made by :func:`build_shape_archive` from ``real-lesion-masks`` (sources and
licences in ``lesionkit/data/NOTICE.md``): 131 left-hemisphere LESYMAP lesions and 24 right-hemisphere
MRIcron lesions, 5–376 cm³.

Placing one (:func:`place_real_lesion`): a tracing is drawn at random, mirrored across the midline with
probability ½ (or to reach the planned side), scaled to the planned volume (so volumes span the
planner's 10 mm³–280 cm³, not only the tracings' large sizes) and bent by a small smooth displacement
(about 2 mm). Near its own size the tracing stays where it was traced (plus a few mm); scaled well down
it is centred on a random seed of the planned site, as generated lesions are. The shape is then cut to
the subject's parenchyma (grey and white matter: never ventricles, sulcal CSF or outside the brain),
kept in its hemisphere and away from earlier lesions, and reduced to its largest piece. Its location and
territory are read off the subject's tissue where it landed.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from lesionkit.core import largest_component
from lesionkit.synth.anatomy import Tissue, territory_table
from lesionkit.synth.fields import smooth_noise
from lesionkit.synth.lesions import LesionPlan, PlacedLesion, _seed_and_allowed

__all__ = ["RealShapes", "build_shape_archive", "load_shapes", "place_real_lesion"]

_ARCHIVE = "real_lesion_shapes.npz"
_PARENCHYMA = (Tissue.CORTEX, Tissue.DEEP_GM, Tissue.WM, Tissue.INFRA_GM, Tissue.INFRA_WM)
#: Below this linear scale factor the shape is re-centred on a seed of its planned site.
_KEEP_PLACE_SCALE = 0.6


class RealShapes:
    """The unpacked archive (read-only): ``crop(i)`` is tracing ``i``'s bool box on the 1 mm ATLAS grid."""

    def __init__(self, data: dict[str, np.ndarray]) -> None:
        self.bits, self.offsets = data["bits"], data["offsets"]
        self.shapes, self.corners, self.names = data["shapes"], data["corners"], data["names"]
        self.voxels = data["voxels"]

    def __len__(self) -> int:
        return len(self.names)

    def crop(self, index: int) -> np.ndarray:
        shape = tuple(int(s) for s in self.shapes[index])
        packed = self.bits[self.offsets[index]:self.offsets[index + 1]]
        return np.unpackbits(packed, count=int(np.prod(shape))).reshape(shape).astype(bool)


@functools.lru_cache(maxsize=1)
def load_shapes() -> RealShapes:
    """The shipped archive (cached)."""
    with resources.files("lesionkit.data").joinpath(_ARCHIVE).open("rb") as handle, np.load(handle) as data:
        return RealShapes({key: data[key] for key in data.files})


def build_shape_archive(folder: str | Path, out: str | Path) -> int:
    """Write the archive from ``folder``'s ``*/*_mask.nii.gz`` tracings on the ATLAS grid; returns their count.

    The shipped file was made with ``build_shape_archive("/work/shared/data/real-lesion-masks",
    "src/lesionkit/data/real_lesion_shapes.npz")``.
    """
    import nibabel as nib

    from lesionkit.core import bounding_box
    from lesionkit.io.atomic import atomic_path

    bits, offsets, shapes, corners, names, voxels = [], [0], [], [], [], []
    for path in sorted(Path(folder).glob("*/*_mask.nii.gz")):
        mask = largest_component(np.asanyarray(nib.load(path).dataobj) > 0)
        box = bounding_box(mask)
        crop = mask[box]
        packed = np.packbits(crop.ravel())
        bits.append(packed)
        offsets.append(offsets[-1] + packed.size)
        shapes.append(crop.shape)
        corners.append([b.start for b in box])
        names.append(path.name.removesuffix("_mask.nii.gz"))
        voxels.append(int(crop.sum()))
    with atomic_path(out) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, bits=np.concatenate(bits), offsets=np.array(offsets, np.int64),
                            shapes=np.array(shapes, np.int16), corners=np.array(corners, np.int16),
                            names=np.array(names), voxels=np.array(voxels, np.int64))
    return len(names)


def _resample(rng: np.random.Generator, crop: np.ndarray, scale: float, resolution: float) -> np.ndarray:
    """The 1 mm crop scaled by ``scale`` onto ``resolution``-mm voxels, bent by a smooth ~2 mm displacement."""
    factor = scale / resolution  # output voxels per source voxel
    out_shape = tuple(max(1, int(np.ceil(n * factor)) + 2) for n in crop.shape)
    coords = np.indices(out_shape, dtype=np.float32)
    bend_mm = rng.uniform(1.0, 3.0)
    for axis in range(3):
        coords[axis] = (coords[axis] - 1.0) / factor
        coords[axis] += bend_mm * smooth_noise(rng, out_shape, max(2.0, 12.0 / resolution))
    return ndi.map_coordinates(crop.astype(np.float32), coords, order=1, cval=0.0) >= 0.5


def _location(tissue: np.ndarray) -> str:
    """The site rule of lesionkit's analysis, on the subject's own tissue."""
    infra = np.isin(tissue, (Tissue.INFRA_GM, Tissue.INFRA_WM)).mean()
    if infra >= 0.5:
        return "other"
    return "cortical" if (tissue == Tissue.CORTEX).mean() >= 0.25 else "subcortical"


def place_real_lesion(
    rng: np.random.Generator,
    labels: np.ndarray,
    forbidden: np.ndarray,
    plan: LesionPlan,
    resolution: float,
    x_mm: np.ndarray,
    tries: int = 6,
) -> PlacedLesion | None:
    """Place one real tracing for ``plan`` in subject space (see the module docstring); None if none fits."""
    shapes = load_shapes()
    tissue, territory = labels >> 5, labels & 31
    parenchyma = np.isin(tissue, _PARENCHYMA)
    for _ in range(tries):
        index = int(rng.integers(len(shapes)))
        crop = shapes.crop(index)
        traced_left = float(shapes.corners[index][0] + crop.shape[0] / 2.0) < 98.0  # ATLAS grid: x = i - 98
        mirror = (plan.side == "L") != traced_left if plan.location != "other" else bool(rng.random() < 0.5)
        if mirror:
            crop = crop[::-1]
        scale = float(np.clip((plan.volume_mm3 / shapes.voxels[index]) ** (1 / 3), 0.05, 1.6))
        shape = _resample(rng, crop, scale, resolution)
        if not shape.any():
            continue
        if scale >= _KEEP_PLACE_SCALE and plan.location != "other":
            # where it was traced (1 mm ATLAS voxel → this grid's voxel), mirrored if needed, plus a few mm
            corner = np.array(shapes.corners[index], float)
            middle = corner + np.array(crop.shape) / 2.0
            if mirror:
                middle[0] = 196.0 - middle[0]
            target = middle / resolution + rng.uniform(-3.0, 3.0, 3) / resolution
        else:
            seed_tissues, _, seed_territories = _seed_and_allowed(plan.location, plan.side)
            seeds = np.flatnonzero(np.isin(tissue, list(seed_tissues)) & np.isin(territory, seed_territories)
                                   & ~forbidden)
            if seeds.size == 0:
                return None
            target = np.array(np.unravel_index(int(rng.choice(seeds)), labels.shape), float)
        start = np.rint(target - np.array(shape.shape) / 2.0).astype(int)
        lo = np.maximum(start, 0)
        hi = np.minimum(start + shape.shape, labels.shape)
        if np.any(hi <= lo):
            continue
        box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
        local = shape[tuple(slice(int(a - s), int(b - s)) for a, b, s in zip(lo, hi, start, strict=True))]
        allowed = parenchyma[box] & ~forbidden[box]
        if plan.location != "other":
            side_ok = (x_mm[box[0]] < 0) if plan.side == "L" else (x_mm[box[0]] > 0)
            allowed &= side_ok[:, None, None]
        mask = largest_component(local & allowed)
        if mask.sum() * resolution**3 < max(0.4 * plan.volume_mm3, 0.5 * resolution**3):
            continue
        tight = ndi.find_objects(mask.astype(np.uint8))[0]
        inner = tuple(slice(max(0, t.start - 3), min(n, t.stop + 3)) for t, n in zip(tight, mask.shape, strict=True))
        mask = mask[inner]
        box = tuple(slice(b.start + i.start, b.start + i.stop) for b, i in zip(box, inner, strict=True))
        counts = np.bincount(territory[box][mask].ravel(), minlength=32)
        counts[0] = 0
        table = territory_table()
        main = int(counts.argmax()) if counts.any() else 0
        found = LesionPlan(_location(tissue[box][mask]), plan.side, plan.volume_mm3)
        return PlacedLesion(found, box, mask, table[main][0] if main in table else "none")  # type: ignore[arg-type]
    return None
