"""The edited mask as the viewer sends it: niivue's drawing bitmap, one bit per voxel, gzipped, base64.

A 197×233×189 mask is 8.7 M voxels: 1.08 MB as bits, 10.7 kB of JSON once gzipped and base64-encoded for the
median of 155 real tracings, half the size of the same mask as a gzipped NIfTI (``benchmarks/review_payload.py``).
The bitmap is in niivue's voxel order (:mod:`lesionkit.review.voxel_order`), voxel ``i`` in bit ``i % 8``
of byte ``i // 8`` (little-endian bit order), padding bits zero. The payload also states the grid shape and
``permRAS`` the viewer worked in and the number of voxels set, so a viewer that oriented the volume
differently, or an encoding slip, is refused instead of written. Decompression stops one byte past the
expected length, so a small payload cannot inflate into a large allocation.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import math
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from lesionkit.review.voxel_order import NiivueOrder

__all__ = ["ENCODING", "PayloadError", "decode_drawing", "encode_drawing", "max_payload_bytes"]

ENCODING = "bits-gzip-base64"


class PayloadError(ValueError):
    """A save request the server refuses (HTTP 400); the message says what is wrong."""


def max_payload_bytes(shape: tuple[int, ...]) -> int:
    """The largest request body accepted for a grid of ``shape``: incompressible bits, base64, and room
    for the other fields."""
    packed = math.ceil(math.prod(shape) / 8)
    return math.ceil((packed * 1.01 + 1024) * 4 / 3) + 16_384


def encode_drawing(drawing: np.ndarray, order: NiivueOrder) -> dict[str, Any]:
    """The payload fields for a boolean array in niivue's order (what the viewer's JavaScript does)."""
    bits = np.packbits(np.asarray(drawing, dtype=bool).ravel(order="F"), bitorder="little")
    data = base64.b64encode(gzip.compress(bits.tobytes(), compresslevel=6, mtime=0)).decode("ascii")
    return {"encoding": ENCODING, "dims": list(order.shape), "perm_ras": order.perm_ras,
            "count": int(np.count_nonzero(drawing)), "data": data}


def _int_list(value: object, name: str) -> list[int]:
    if not isinstance(value, list) or len(value) != 3 or not all(isinstance(v, int) and not isinstance(v, bool)
                                                                 for v in value):
        raise PayloadError(f"{name} must be a list of three integers")
    return value


def decode_drawing(payload: Mapping[str, Any], order: NiivueOrder) -> np.ndarray:
    """The boolean drawing (shape ``order.shape``, niivue's order) a payload holds; raises :class:`PayloadError`."""
    if payload.get("encoding") != ENCODING:
        raise PayloadError(f"encoding must be {ENCODING!r}")
    dims, perm = _int_list(payload.get("dims"), "dims"), _int_list(payload.get("perm_ras"), "perm_ras")
    if tuple(dims) != order.shape or perm != order.perm_ras:
        raise PayloadError(f"the viewer worked on a {dims} grid in voxel order {perm}, the mask is {list(order.shape)} "
                           f"in order {order.perm_ras}: nothing was written")
    count = payload.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise PayloadError("count must be a non-negative integer")
    text = payload.get("data")
    if not isinstance(text, str):
        raise PayloadError("data must be a base64 string")
    try:
        compressed = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise PayloadError("data is not valid base64") from None
    n = math.prod(order.shape)
    expected = math.ceil(n / 8)
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip only
    try:
        raw = inflater.decompress(compressed, expected + 1)
    except zlib.error:
        raise PayloadError("data is not gzip-compressed") from None
    if len(raw) != expected or not inflater.eof or inflater.unused_data:
        got = f"{len(raw)} bytes" if len(raw) <= expected else f"more than {expected} bytes"
        raise PayloadError(f"the bitmap holds {got}, expected {expected} ({n} voxels): nothing was written")
    bits = np.unpackbits(np.frombuffer(raw, np.uint8), bitorder="little")
    if bits[n:].any():
        raise PayloadError("padding bits past the last voxel are set")
    drawing = bits[:n].astype(bool).reshape(order.shape, order="F")
    if int(np.count_nonzero(drawing)) != count:
        raise PayloadError(f"the bitmap sets {int(np.count_nonzero(drawing))} voxels, the viewer counted {count}")
    return drawing
