"""Writing a corrected mask: a new derivative beside the automatic one, with its provenance, never over it.

``…_desc-corrected_mask.nii.gz`` is written on the automatic mask's exact grid (its shape, affine and
header), atomically, then its JSON sidecar: the source mask (path relative to the derivatives folder and
SHA-256), the reviewer, the UTC time, and the voxels added and removed with respect to the automatic mask
(and with respect to the previous correction, for a second one).

Two editors of one case (two browser tabs, two reviewers) must not overwrite each other silently: every
save names the version it started from (the SHA-256 of the mask file the editor loaded, see
:func:`lesionkit.io.file_sha256`), and a save whose version is no longer the current one is refused with
:class:`StaleVersionError` (HTTP 409), under the folder's lock so that the check and the write are one step.
A write whose folder resolves outside the derivatives folder (a linked subject folder) is refused with
:class:`UnsafeWriteError`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lesionkit import __version__
from lesionkit.io import file_sha256, load_mask, save_nifti, write_text
from lesionkit.review.cases import ReviewCase, sidecar_path
from lesionkit.review.locking import folder_lock
from lesionkit.typing import PathLike

__all__ = ["Correction", "StaleVersionError", "UnsafeWriteError", "check_inside", "write_correction"]


class StaleVersionError(RuntimeError):
    """The mask changed since the editor loaded it (HTTP 409); ``current`` is its version now."""

    def __init__(self, message: str, current: str) -> None:
        super().__init__(message)
        self.current = current


class UnsafeWriteError(PermissionError):
    """A write that would land outside the derivatives folder (HTTP 403)."""


@dataclass(frozen=True)
class Correction:
    path: Path
    version: str
    voxels_added: int
    voxels_removed: int
    lesion_voxels: int
    revision: int
    sidecar: dict



def check_inside(root: PathLike, target: PathLike) -> None:
    """Raise :class:`UnsafeWriteError` unless ``target``'s folder, links resolved, lies inside ``root``."""
    real_root = os.path.realpath(root)
    folder = os.path.realpath(Path(target).parent)
    if os.path.commonpath([real_root, folder]) != real_root:
        raise UnsafeWriteError(f"refusing to write {Path(target).name}: its folder resolves to {folder}, outside the "
                               f"derivatives folder {real_root}")


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _previous(path: Path) -> dict:
    try:
        record = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record.get("Correction", {}) if isinstance(record, dict) else {}


def write_correction(
    root: PathLike, case: ReviewCase, mask: np.ndarray, *, base_version: str, reviewer: str,
) -> Correction:
    """Write ``mask`` (boolean, on ``case.mask``'s grid and voxel order) as ``case.corrected`` with its sidecar.

    ``base_version`` is the :func:`~lesionkit.io.file_sha256` of the file the edit started from (the correction if
    there is one, else the automatic mask). Raises :class:`StaleVersionError` when that is no longer the
    current version, :class:`UnsafeWriteError` for a target outside ``root``, and ``ValueError`` for a
    mask of another shape. The automatic mask is only read.
    """
    root = Path(root)
    target, source = case.corrected, case.mask
    if target == source:
        raise UnsafeWriteError(f"refusing to overwrite the automatic mask {source}")
    check_inside(root, target)
    mask = np.asarray(mask, dtype=bool)
    with folder_lock(root):
        exists = target.is_file()
        current = file_sha256(target if exists else source)
        if base_version != current:
            who = _previous(target) if exists else {}
            by = f" by {who['reviewer']} at {who['time']}" if who.get("reviewer") and who.get("time") else ""
            raise StaleVersionError(f"{case.id} was saved{by} after this editor loaded it: nothing was written; "
                                    "reload the case to see the current mask and redo the edit", current)
        automatic = load_mask(source)
        if mask.shape != automatic.shape:
            raise ValueError(f"the corrected mask has shape {mask.shape}, the automatic mask {automatic.shape}")
        before = np.asanyarray(automatic.dataobj) != 0
        previous = _previous(target) if exists else {}
        if exists:
            last = np.asanyarray(load_mask(target).dataobj) != 0
            changed = {"voxels_added": int(np.count_nonzero(mask & ~last)),
                       "voxels_removed": int(np.count_nonzero(~mask & last))}
        reference = _source_sidecar(source).get("SpatialReference")
        record = {
            "Description": "lesion mask corrected by hand (lesionkit review) from the automatic mask in Sources",
            "Type": "Lesion",
            "Sources": [f"bids::{Path(os.path.relpath(source, root)).as_posix()}"],
            **({"SpatialReference": reference} if reference else {}),
            "LesionVoxels": int(np.count_nonzero(mask)),
            "Correction": {
                "source_mask": Path(os.path.relpath(source, root)).as_posix(),
                "source_sha256": file_sha256(source),
                "reviewer": reviewer,
                "time": _utc_now(),
                "voxels_added": int(np.count_nonzero(mask & ~before)),
                "voxels_removed": int(np.count_nonzero(~mask & before)),
                "revision": int(previous.get("revision", 0)) + 1,
                "previous_sha256": current if exists else None,
                **({"since_previous": changed} if exists else {}),
                "lesionkit_version": __version__,
                "viewer": "niivue (lesionkit/web/static/niivue)",
            },
        }
        # The mask first, then its sidecar: both atomic; the sidecar names the mask's own hash.
        save_nifti(mask.astype(np.uint8), target, affine=automatic.affine, header=automatic.header, dtype=np.uint8)
        version = file_sha256(target)
        record["Correction"]["sha256"] = version
        write_text(sidecar_path(target), json.dumps(record, indent=2) + "\n")
    c = record["Correction"]
    return Correction(path=target, version=version, voxels_added=c["voxels_added"], voxels_removed=c["voxels_removed"],
                      lesion_voxels=record["LesionVoxels"], revision=c["revision"], sidecar=record)


def _source_sidecar(source: Path) -> dict:
    try:
        record = json.loads(sidecar_path(source).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}
