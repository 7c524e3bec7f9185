"""Reading, validating and writing NIfTI volumes with nibabel.

Every reader returns a :class:`nibabel.Nifti1Image` whose data are already in memory and checked, so
a bad file fails here, once, with its name in the message, instead of deep inside a pipeline. Before
any data are read, the header's claimed size is compared with the file (:func:`check_nifti_size`), so
a few bytes of hostile header never allocate gigabytes. :func:`validate_volume` is the one definition
of a usable volume (3-D, scalar voxels, finite, usable affine; masks 0/1), for files and arrays alike.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import nibabel as nib
import numpy as np

from lesionkit.io.atomic import atomic_path
from lesionkit.io.errors import InvalidInputError
from lesionkit.typing import PathLike

__all__ = [
    "AFFINE_TOLERANCE",
    "GZIP_MAX_RATIO",
    "MIN_SCAN_VOXELS",
    "binarize_mask",
    "check_nifti_size",
    "check_same_grid",
    "check_scan",
    "ensure_3d",
    "load_image",
    "load_mask",
    "load_nifti",
    "load_probability",
    "save_nifti",
    "validate_volume",
]

#: Largest absolute difference between two affines that still counts as the same grid (mm).
AFFINE_TOLERANCE = 1e-3
#: Upper bound on gzip's expansion (deflate cannot exceed about 1032:1): a ``.nii.gz`` of ``n`` bytes
#: holds at most ``n × GZIP_MAX_RATIO`` bytes, whatever its header says.
GZIP_MAX_RATIO = 1100
#: Fewest voxels along every axis of a T1w scan that can be preprocessed or segmented (:func:`check_scan`).
MIN_SCAN_VOXELS = 8

Kind = Literal["any", "image", "mask", "probability"]


def _lazy(path: Path) -> nib.spatialimages.SpatialImage:
    """Header and data proxy, nothing read yet; the file must exist and be readable."""
    if not path.exists():
        raise InvalidInputError(path, "file does not exist")
    if path.is_dir():
        raise InvalidInputError(path, "is a directory, expected a NIfTI file")
    with _reading(path, "a NIfTI header", "the header"):
        return nib.load(str(path))


@contextlib.contextmanager
def _reading(path: Path, what: str, size: str) -> Iterator[None]:
    """Name a failed read for what it is: no permission, no memory, or a truncated or corrupt file."""
    try:
        yield
    except PermissionError as exc:
        raise InvalidInputError(path, "cannot read the file: permission denied") from exc
    except MemoryError as exc:
        raise InvalidInputError(path, f"not enough memory to read {size}") from exc
    except Exception as exc:  # nibabel, gzip and zlib raise many types for a corrupt file
        raise InvalidInputError(
            path, f"cannot read {what}, the file is truncated or corrupt ({type(exc).__name__}: {exc})"
        ) from exc


def _claimed_bytes(img: nib.spatialimages.SpatialImage) -> int:
    return math.prod(int(n) for n in img.shape) * img.get_data_dtype().itemsize


def _check_size(img: nib.spatialimages.SpatialImage, path: Path, max_bytes: int | None) -> int:
    claimed = _claimed_bytes(img)
    described = f"its header claims a {'×'.join(map(str, img.shape))} {img.get_data_dtype()} volume ({claimed:,} bytes)"
    if max_bytes is not None and claimed > max_bytes:
        raise InvalidInputError(path, f"{described}, more than the limit of {max_bytes:,} bytes")
    data_file = img.file_map["image"].filename or str(path)
    size = os.path.getsize(data_file)
    needed = claimed + int(getattr(img.dataobj, "offset", 0) or 0)
    name = data_file.lower()
    if name.endswith((".gz", ".mgz")):
        if needed > size * GZIP_MAX_RATIO:
            raise InvalidInputError(
                path, f"{described}, more than a gzip file of {size:,} bytes can hold: the file is truncated or "
                "its header is wrong")
    elif not name.endswith((".bz2", ".zst")) and needed > size:
        raise InvalidInputError(
            path, f"{described}, but the file holds {size:,} bytes: the file is truncated or its header is wrong")
    return claimed


def check_nifti_size(path: PathLike, max_bytes: int | None = None) -> int:
    """Compare the data size a NIfTI header claims with the file, before anything is allocated.

    An uncompressed file must hold the claimed bytes; a gzip file cannot hold more than
    :data:`GZIP_MAX_RATIO` times its size. ``max_bytes`` caps the claimed data size (e.g. for uploads).
    Returns the claimed data size in bytes; raises :class:`InvalidInputError` naming the file.
    """
    path = Path(path)
    return _check_size(_lazy(path), path, max_bytes)


def load_nifti(path: PathLike, max_bytes: int | None = None) -> nib.Nifti1Image:
    """Load a NIfTI file fully into memory as a 3-D image, keeping its stored dtype.

    The header is checked first (:func:`check_nifti_size`, scalar voxel type); a trailing singleton 4th
    axis (``X×Y×Z×1``, common after some converters) is squeezed. Raises :class:`InvalidInputError` for
    a missing, unreadable, truncated or oversized file and for anything :func:`validate_volume` refuses.
    """
    path = Path(path)
    img = _lazy(path)
    _check_dtype(img.get_data_dtype(), path)  # before reading: an RGB volume is refused without loading it
    claimed = _check_size(img, path, max_bytes)
    with _reading(path, "NIfTI data", f"its {claimed:,}-byte volume"):
        data = np.asanyarray(img.dataobj)
    out = ensure_3d(nib.Nifti1Image(data, img.affine, img.header), path)
    out.set_filename(str(path))
    return out


def _check_dtype(dtype: np.dtype, name) -> None:
    if dtype.kind not in "biuf":
        raise InvalidInputError(
            name, f"voxel type {dtype} is not a scalar intensity (RGB, complex and other multi-value voxels are "
            "not images or masks)")


def validate_volume(
    data: np.ndarray, affine: np.ndarray, name: PathLike | None = None, kind: Kind = "any"
) -> np.ndarray:
    """Validate an array and its affine as one volume, the definition every reader and array-taking function shares.

    Checks: scalar voxel type (no RGB or complex), 3-D after squeezing trailing singleton axes, no empty
    axis, a finite, non-singular 4×4 affine; by ``kind``: ``"image"`` finite values (returned as
    float32), ``"probability"`` finite values in [0, 1] (float32), ``"mask"`` 0/1 or 0/255 values
    (returned as uint8 0/1, :func:`binarize_mask`); ``"any"`` returns the data in its own dtype.
    Raises :class:`InvalidInputError` naming ``name`` (a file, or ``<in-memory image>``).
    """
    name = name if name is not None else "<in-memory image>"
    data = np.asanyarray(data)
    _check_dtype(data.dtype, name)
    shape = data.shape
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise InvalidInputError(name, f"expected a 3-D volume, got shape {tuple(shape)}")
    if min(data.shape) == 0:
        raise InvalidInputError(name, f"the volume is empty (shape {tuple(data.shape)})")
    affine = np.asarray(affine)
    if affine.shape != (4, 4):
        raise InvalidInputError(name, f"the affine must be 4×4, got shape {affine.shape}")
    if not np.all(np.isfinite(affine)):
        raise InvalidInputError(name, "the affine contains NaN or inf")
    if abs(np.linalg.det(affine[:3, :3])) < 1e-6:
        raise InvalidInputError(name, "the affine is singular (zero voxel size or degenerate axes)")
    if kind == "mask":
        return binarize_mask(data, name)
    if kind in ("image", "probability"):
        data = np.asarray(data, dtype=np.float32)
        if not np.all(np.isfinite(data)):
            bad = int(np.size(data) - np.count_nonzero(np.isfinite(data)))
            raise InvalidInputError(name, f"contains {bad} NaN or infinite voxel(s)")
        if kind == "probability" and (data.min() < 0 or data.max() > 1):
            raise InvalidInputError(
                name, f"probability map has values from {data.min():g} to {data.max():g} (expected 0 to 1)")
    return data


def ensure_3d(img: nib.spatialimages.SpatialImage, path: PathLike | None = None) -> nib.Nifti1Image:
    """Validate an in-memory image as a 3-D volume with a usable affine (what :func:`load_nifti` checks).

    A trailing singleton 4th axis is squeezed; what :func:`validate_volume` refuses raises
    :class:`InvalidInputError` naming ``path``.
    """
    name = path if path is not None else (img.get_filename() or "<in-memory image>")
    data = validate_volume(np.asanyarray(img.dataobj), img.affine, name)
    header = img.header.copy() if isinstance(img.header, nib.Nifti1Header) else None
    if header is not None:
        header.set_data_shape(data.shape)
    out = nib.Nifti1Image(data, img.affine, header)
    if img.get_filename():
        out.set_filename(img.get_filename())
    return out


def _typed(img: nib.Nifti1Image, data: np.ndarray, path: PathLike) -> nib.Nifti1Image:
    out = nib.Nifti1Image(data, img.affine, img.header)
    out.header.set_data_dtype(data.dtype)
    if data.dtype == np.uint8:
        out.header.set_slope_inter(1, 0)
    out.set_filename(str(path))
    return out


def load_image(path: PathLike, max_bytes: int | None = None) -> nib.Nifti1Image:
    """Load an intensity image (T1w or probability map) as float32, refusing NaN and inf."""
    img = load_nifti(path, max_bytes)
    return _typed(img, validate_volume(img.dataobj, img.affine, path, "image"), path)


def load_probability(path: PathLike, max_bytes: int | None = None) -> nib.Nifti1Image:
    """Load a lesion probability map as float32, refusing NaN, inf and values outside [0, 1]."""
    img = load_nifti(path, max_bytes)
    return _typed(img, validate_volume(img.dataobj, img.affine, path, "probability"), path)


def check_scan(img: nib.spatialimages.SpatialImage, path: PathLike | None = None) -> None:
    """Refuse a T1w that cannot be a head scan to preprocess or segment: a slice or thin slab
    (fewer than :data:`MIN_SCAN_VOXELS` voxels along an axis) or a constant image (no signal)."""
    name = path if path is not None else (img.get_filename() or "<in-memory image>")
    shape = tuple(int(n) for n in img.shape[:3])
    if min(shape) < MIN_SCAN_VOXELS:
        raise InvalidInputError(
            name, f"shape {shape} is a slice or thin slab, not a 3-D scan (at least {MIN_SCAN_VOXELS} voxels "
            "along every axis are needed)")
    data = np.asanyarray(img.dataobj)
    if data.min() == data.max():
        raise InvalidInputError(name, "the image is constant (no signal)")


def binarize_mask(data: np.ndarray, path: PathLike | None = None) -> np.ndarray:
    """Return ``data`` as a uint8 0/1 mask.

    0/1 (any dtype) is accepted; 0/255 (8-bit masks from some viewers) is converted; anything
    else, including NaN or the fractional values of a linearly resampled mask, is refused.
    """
    _check_dtype(data.dtype, path)
    if data.size == 0:
        raise InvalidInputError(path, f"the mask is empty (shape {data.shape})")
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


def load_mask(
    path: PathLike, reference: nib.Nifti1Image | None = None, max_bytes: int | None = None
) -> nib.Nifti1Image:
    """Load a binary lesion mask as uint8 0/1; with ``reference``, also check it shares its grid."""
    img = load_nifti(path, max_bytes)
    out = _typed(img, validate_volume(img.dataobj, img.affine, path, "mask"), path)
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
