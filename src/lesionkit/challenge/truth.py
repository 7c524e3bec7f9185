"""Hidden truth in server storage: copied in once, under opaque names, as the lesion's bounding-box crop.

Only the crop is stored (``np.savez_compressed``: ``crop``, ``start``, ``shape``): loading a case back takes
milliseconds instead of decompressing a whole 197×233×189 volume, which is what makes a 300-case submission
score in seconds. Original file names and paths are never stored.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np

from lesionkit.core import bounding_box
from lesionkit.io import atomic_path, load_case_mask
from lesionkit.io.cohort import Case

__all__ = ["load_truth", "store_truth", "truth_folder"]


def truth_folder(storage: Path | str, phase_name: str) -> Path:
    return Path(storage) / "truth" / phase_name


def store_truth(case: Case, folder: Path) -> tuple[str, np.ndarray, tuple[int, ...]]:
    """Copy one true mask into ``folder``; returns (storage name, affine, shape)."""
    img = load_case_mask(case)
    data = np.asanyarray(img.dataobj) != 0
    box = bounding_box(data)
    start = np.array([s.start for s in box] if box else [0] * data.ndim, dtype=np.int64)
    crop = data[box] if box else np.zeros((0,) * data.ndim, bool)
    name = f"{uuid.uuid4().hex}.npz"
    with atomic_path(folder / name) as tmp:
        with tmp.open("wb") as handle:
            np.savez_compressed(handle, crop=crop, start=start, shape=np.array(data.shape, dtype=np.int64))
    return name, img.affine, data.shape


def load_truth(folder: Path, storage_name: str) -> np.ndarray:
    """The full boolean truth volume of a stored case."""
    with np.load(folder / storage_name) as stored:
        crop, start, shape = stored["crop"], stored["start"], tuple(int(v) for v in stored["shape"])
    full = np.zeros(shape, dtype=bool)
    full[tuple(slice(s, s + n) for s, n in zip(start, crop.shape, strict=True))] = crop
    return full
