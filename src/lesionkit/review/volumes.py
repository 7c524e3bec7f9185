"""The bytes the viewer loads: NIfTI files niivue reads with the same affine nibabel (and so lesionkit) reads.

nibabel takes the sform when its code is set, else the qform; niivue takes the qform when its code is the
larger one. Where the two could disagree (a qform code above a set sform code, or neither set) the image
is re-encoded with the affine nibabel reads as the only transform, so that the drawing niivue sends back
lands on the voxels lesionkit writes. Masks are always re-encoded as uint8 0/1 (niivue's drawing layer
holds bytes: a float or 16-bit mask would be truncated or wrapped).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np

from lesionkit.io import load_mask

__all__ = ["image_bytes", "mask_bytes"]


def _encoded(data: np.ndarray, img: nib.spatialimages.SpatialImage) -> bytes:
    out = nib.Nifti1Image(data, img.affine)
    out.set_sform(img.affine, code=max(1, int(img.header.get("sform_code", 0) or 0)))
    out.set_qform(None, code=0)
    out.header.set_xyzt_units("mm")
    return gzip.compress(out.to_bytes(), compresslevel=1, mtime=0)


def _agree(header: nib.Nifti1Header) -> bool:
    sform, qform = int(header["sform_code"]), int(header["qform_code"])
    return (sform > 0 and sform >= qform) or (sform == 0 and qform > 0)


def image_bytes(path: Path) -> bytes:
    """A background image (T1w or probability map) as gzipped NIfTI for niivue."""
    img = nib.load(str(path))
    if isinstance(img.header, nib.Nifti1Header) and _agree(img.header):
        raw = path.read_bytes()
        return raw if path.name.endswith(".gz") else gzip.compress(raw, compresslevel=1, mtime=0)
    return _encoded(np.asanyarray(img.dataobj), img)


def mask_bytes(path: Path) -> bytes:
    """A lesion mask as gzipped uint8 0/1 NIfTI for niivue's drawing layer."""
    img = load_mask(path)
    return _encoded(np.asanyarray(img.dataobj).astype(np.uint8), img)
