"""Reading, validating and writing NIfTI volumes with nibabel.

Every reader returns a :class:`nibabel.Nifti1Image` whose data are already in memory and checked, so
a bad file fails here, once, with its name in the message, instead of deep inside a pipeline.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from lesionkit.io.atomic import atomic_path
from lesionkit.io.errors import InvalidInputError
from lesionkit.typing import PathLike

__all__ = [
    "AFFINE_TOLERANCE",
    "check_same_grid",
    "ensure_3d",
    "load_image",
    "load_mask",
    "load_nifti",
    "save_nifti",
    "binarize_mask",
]

#: Largest absolute difference between two affines that still counts as the same grid (mm).
AFFINE_TOLERANCE = 1e-3


def load_nifti(path: PathLike) -> nib.Nifti1Image:
    """Load a NIfTI file fully into memory as a 3-D image, keeping its stored dtype.

    A trailing singleton 4th axis (``X×Y×Z×1``, common after some converters) is squeezed.
    Raises :class:`InvalidInputError` for a missing, unreadable or truncated file and for
    anything that is not 3-D.
    """
    path = Path(path)
    if not path.exists():
        raise InvalidInputError(path, "file does not exist")
    if path.is_dir():
        raise InvalidInputError(path, "is a directory, expected a NIfTI file")
    try:
        img = nib.load(str(path))
        data = np.asanyarray(img.dataobj)
    except Exception as exc:  # nibabel, gzip and zlib raise many types for a corrupt file
        raise InvalidInputError(
            path, f"cannot read NIfTI data, the file is truncated or corrupt ({type(exc).__name__}: {exc})"
        ) from exc
    out = ensure_3d(nib.Nifti1Image(data, img.affine, img.header), path)
    out.set_filename(str(path))
    return out


def ensure_3d(img: nib.spatialimages.SpatialImage, path: PathLike | None = None) -> nib.Nifti1Image:
    """Validate an in-memory image as a 3-D volume with a usable affine (what :func:`load_nifti` checks).

    A trailing singleton 4th axis is squeezed; more dimensions, a NaN/inf affine or a singular affine
    (zero voxel size, degenerate axes) raise :class:`InvalidInputError` naming ``path``.
    """
    name = path if path is not None else (img.get_filename() or "<in-memory image>")
    data = np.asanyarray(img.dataobj)
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise InvalidInputError(name, f"expected a 3-D volume, got shape {tuple(img.shape)}")
    if not np.all(np.isfinite(img.affine)):
        raise InvalidInputError(name, "the affine contains NaN or inf")
    if abs(np.linalg.det(img.affine[:3, :3])) < 1e-6:
        raise InvalidInputError(name, "the affine is singular (zero voxel size or degenerate axes)")
    header = img.header.copy() if isinstance(img.header, nib.Nifti1Header) else None
    if header is not None:
        header.set_data_shape(data.shape)
    out = nib.Nifti1Image(data, img.affine, header)
    if img.get_filename():
        out.set_filename(img.get_filename())
    return out


def load_image(path: PathLike) -> nib.Nifti1Image:
    """Load an intensity image (T1w or probability map) as float32, refusing NaN and inf."""
    img = load_nifti(path)
    data = np.asarray(img.dataobj, dtype=np.float32)
    if not np.all(np.isfinite(data)):
        bad = int(np.size(data) - np.count_nonzero(np.isfinite(data)))
        raise InvalidInputError(path, f"contains {bad} NaN or infinite voxel(s)")
    out = nib.Nifti1Image(data, img.affine, img.header)
    out.header.set_data_dtype(np.float32)
    out.set_filename(str(path))
    return out


def binarize_mask(data: np.ndarray, path: PathLike | None = None) -> np.ndarray:
    """Return ``data`` as a uint8 0/1 mask.

    0/1 (any dtype) is accepted; 0/255 (8-bit masks from some viewers) is converted; anything
    else, including NaN or the fractional values of a linearly resampled mask, is refused.
    """
    # min/max first: one pass each, where np.unique would sort the whole volume (slow on 1 mm masks).
    if data.dtype == bool:
        return data.astype(np.uint8)
    lo, hi = data.min(), data.max()
    if data.dtype.kind == "f" and not (np.isfinite(lo) and np.isfinite(hi)):
        raise InvalidInputError(path, "mask contains NaN or infinite values")
    if lo >= 0 and hi <= 1 and (data.dtype.kind in "iu" or np.all((data == 0) | (data == 1))):
        return (data == 1).astype(np.uint8)
    if lo >= 0 and hi == 255 and np.all((data == 0) | (data == 255)):
        return (data == 255).astype(np.uint8)
    values = np.unique(data)  # only on the error path, to show the offending values
    shown = ", ".join(f"{v:g}" for v in values[:6]) + (", …" if values.size > 6 else "")
    raise InvalidInputError(path, f"mask is not binary: values {shown} (expected 0/1, or 0/255)")


def load_mask(path: PathLike, reference: nib.Nifti1Image | None = None) -> nib.Nifti1Image:
    """Load a binary lesion mask as uint8 0/1; with ``reference``, also check it shares its grid."""
    img = load_nifti(path)
    data = binarize_mask(np.asanyarray(img.dataobj), path)
    out = nib.Nifti1Image(data, img.affine, img.header)
    out.header.set_data_dtype(np.uint8)
    out.header.set_slope_inter(1, 0)
    out.set_filename(str(path))
    if reference is not None:
        check_same_grid(reference, out)
    return out


def _name(img: nib.Nifti1Image) -> str:
    return img.get_filename() or "<in-memory image>"


def check_same_grid(a: nib.Nifti1Image, b: nib.Nifti1Image, atol: float = AFFINE_TOLERANCE) -> None:
    """Raise :class:`InvalidInputError` naming both files if shapes or affines disagree."""
    if tuple(a.shape[:3]) != tuple(b.shape[:3]):
        raise InvalidInputError(
            _name(b), f"grid shape {tuple(b.shape[:3])} differs from {tuple(a.shape[:3])} of {_name(a)}"
        )
    diff = float(np.max(np.abs(a.affine - b.affine)))
    if diff > atol:
        raise InvalidInputError(
            _name(b), f"affine differs from that of {_name(a)} by up to {diff:.4g} mm (tolerance {atol:g})"
        )


def save_nifti(
    data: np.ndarray | nib.Nifti1Image,
    path: PathLike,
    affine: np.ndarray | None = None,
    header: nib.Nifti1Header | None = None,
    dtype: np.dtype | type | None = None,
) -> Path:
    """Atomically write a NIfTI file (temporary name, then rename) and return its path.

    ``data`` is an array (then ``affine`` is required) or an image. ``dtype`` sets the stored type,
    e.g. ``np.uint8`` for masks; the qform and sform both carry the affine.
    """
    if isinstance(data, nib.spatialimages.SpatialImage):
        img = data
        arr = np.asanyarray(img.dataobj)
        affine = img.affine if affine is None else affine
        header = img.header if header is None else header
    else:
        if affine is None:
            raise ValueError("save_nifti needs an affine when given an array")
        arr = np.asanyarray(data)
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    out = nib.Nifti1Image(arr, affine, header.copy() if header is not None else None)
    out.header.set_data_dtype(arr.dtype)
    if np.issubdtype(arr.dtype, np.integer):
        out.header.set_slope_inter(1, 0)
    space_unit, time_unit = out.header.get_xyzt_units()
    if space_unit == "unknown":  # BIDS validators want spatial units in every header; lesionkit's grids are mm
        out.header.set_xyzt_units("mm", time_unit)
    out.set_qform(affine, code=int(out.header["qform_code"]) or 1)
    out.set_sform(affine, code=int(out.header["sform_code"]) or 1)
    path = Path(path)
    with atomic_path(path) as tmp:
        nib.save(out, str(tmp))
    return path
