"""Hidden truth in server storage: copied in once, under opaque names, as the lesion's bounding-box crop.

Only the crop is stored (``np.savez_compressed``: ``crop``, ``start``, ``shape``): loading a case back takes
milliseconds instead of decompressing a whole 197×233×189 volume, which is what makes a 300-case submission
score in seconds. Original file names and paths are never stored.

An organiser may hand the truth over as an archive (the admin page's upload, or ``--truth`` naming a file):
:func:`unpacked_truth` unpacks it with the same streaming extraction and caps as a submission, and reads every
NIfTI header before any voxel (a 400-byte header may claim terabytes), into a scratch folder inside server
storage that is removed afterwards.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from lesionkit.challenge.archive import ArchiveLimits, extract_archive, relative_error, remove_tree
from lesionkit.challenge.storage import scratch_folder
from lesionkit.core import bounding_box
from lesionkit.io import InvalidInputError, atomic_path, check_nifti_size, load_case_mask
from lesionkit.io.cohort import Case

__all__ = ["MAX_TRUTH_MASK_BYTES", "TRUTH_ARCHIVE_LIMITS", "load_truth", "store_truth", "truth_folder",
           "unpacked_truth"]

#: Caps on an organiser's truth archive: more room than a submission (masks plus sidecars, several cohorts).
TRUTH_ARCHIVE_LIMITS = ArchiveLimits(max_unpacked_bytes=4 * 2**30, max_members=10_000)
#: Largest voxel data one truth mask's header may claim (the 1 mm ATLAS grid in float64 is 70 MB).
MAX_TRUTH_MASK_BYTES = 2**30


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


@contextlib.contextmanager
def unpacked_truth(archive: Path | str | BinaryIO, storage: Path | str) -> Iterator[Path]:
    """Unpack a truth archive (``.zip``, ``.tar.gz``; a path or a seekable binary file, e.g. an upload) into a
    scratch folder in ``storage``; yields the folder.

    Extraction refuses what a submission's does (links, ``..``, devices, too many members or bytes) and each NIfTI
    header is checked (:func:`lesionkit.io.check_nifti_size`) before anything reads its data. Every
    :class:`~lesionkit.io.InvalidInputError` raised inside the block names paths inside the archive only.
    """
    scratch = scratch_folder(storage)
    try:
        files = extract_archive(archive, scratch, TRUTH_ARCHIVE_LIMITS, display_name="truth archive")
        for name in files:
            if name.endswith((".nii", ".nii.gz")):
                check_nifti_size(scratch / name, max_bytes=MAX_TRUTH_MASK_BYTES)
        yield scratch
    except InvalidInputError as error:
        raise relative_error(error, scratch, "truth archive") from None
    finally:
        remove_tree(scratch)


def load_truth(folder: Path, storage_name: str) -> np.ndarray:
    """The full boolean truth volume of a stored case."""
    with np.load(folder / storage_name) as stored:
        crop, start, shape = stored["crop"], stored["start"], tuple(int(v) for v in stored["shape"])
    full = np.zeros(shape, dtype=bool)
    full[tuple(slice(s, s + n) for s, n in zip(start, crop.shape, strict=True))] = crop
    return full
