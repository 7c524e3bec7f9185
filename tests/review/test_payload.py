"""The viewer's save payload (lesionkit.review.payload): exact round trip, and every malformed form refused."""

from __future__ import annotations

import base64
import gzip

import numpy as np
import pytest

from lesionkit.review.payload import ENCODING, PayloadError, decode_drawing, encode_drawing, max_payload_bytes
from lesionkit.review.voxel_order import niivue_order
from tests.review._folders import oblique_affine

SHAPE = (11, 13, 7)  # 1001 voxels: not a multiple of 8, so there are padding bits


@pytest.fixture
def order():
    return niivue_order(oblique_affine(), SHAPE)


@pytest.fixture
def drawing(order):
    return np.random.default_rng(0).random(order.shape) < 0.3


def _with(payload: dict, **changes) -> dict:
    return {**payload, **changes}


def _bits(raw: bytes) -> str:
    return base64.b64encode(gzip.compress(raw)).decode()


def test_round_trip_is_exact(order, drawing):
    payload = encode_drawing(drawing, order)
    assert payload["encoding"] == ENCODING and payload["count"] == int(drawing.sum())
    assert np.array_equal(decode_drawing(payload, order), drawing)


def test_bit_order_is_little_endian_voxel_i_in_bit_i_mod_8(order):
    drawing = np.zeros(order.shape, bool)
    raw = bytearray(int(np.ceil(drawing.size / 8)))
    raw[0], raw[1] = 0b1, 0b10  # voxel 0 (byte 0, bit 0) and voxel 9 (byte 1, bit 1), x fastest
    payload = {**encode_drawing(drawing, order), "data": _bits(bytes(raw)), "count": 2}
    decoded = decode_drawing(payload, order)
    assert np.array_equal(np.flatnonzero(decoded.ravel(order="F")), [0, 9])


@pytest.mark.parametrize(("change", "message"), [
    ({"encoding": "raw"}, "encoding"),
    ({"dims": [1, 2, 3]}, "nothing was written"),
    ({"dims": "7x11x13"}, "three integers"),
    ({"perm_ras": [1, 2, 3]}, "voxel order"),
    ({"count": -1}, "count"),
    ({"count": True}, "count"),
    ({"data": "not base64!"}, "base64"),
    ({"data": base64.b64encode(b"plain bytes").decode()}, "gzip"),
    ({"data": 12}, "base64 string"),
])
def test_malformed_fields_are_refused(order, drawing, change, message):
    with pytest.raises(PayloadError, match=message):
        decode_drawing(_with(encode_drawing(drawing, order), **change), order)


def test_wrong_length_is_refused_both_ways(order, drawing):
    packed = np.packbits(drawing.ravel(order="F"), bitorder="little").tobytes()
    payload = encode_drawing(drawing, order)
    with pytest.raises(PayloadError, match="expected 126"):
        decode_drawing(_with(payload, data=_bits(packed[:-1])), order)
    with pytest.raises(PayloadError, match="more than 126"):
        decode_drawing(_with(payload, data=_bits(packed + b"\0")), order)
    with pytest.raises(PayloadError, match="expected"):  # two gzip members: trailing data
        decode_drawing(_with(payload, data=base64.b64encode(gzip.compress(packed) * 2).decode()), order)


def test_padding_bits_and_a_wrong_count_are_refused(order, drawing):
    packed = bytearray(np.packbits(drawing.ravel(order="F"), bitorder="little").tobytes())
    packed[-1] |= 0x80  # bit 1007 > 1001 voxels
    with pytest.raises(PayloadError, match="padding"):
        decode_drawing(_with(encode_drawing(drawing, order), data=_bits(bytes(packed))), order)
    with pytest.raises(PayloadError, match="counted"):
        decode_drawing(_with(encode_drawing(drawing, order), count=int(drawing.sum()) + 1), order)


def test_a_gzip_bomb_is_refused_without_inflating_it(order, drawing):
    bomb = base64.b64encode(gzip.compress(bytes(20_000_000))).decode()  # 20 MB of zeros in ~20 kB
    with pytest.raises(PayloadError, match="more than 126 bytes"):
        decode_drawing(_with(encode_drawing(drawing, order), data=bomb), order)


def test_the_size_limit_admits_an_incompressible_drawing():
    shape = (40, 48, 40)
    order = niivue_order(np.eye(4), shape)
    noise = np.random.default_rng(1).random(shape) < 0.5
    payload = encode_drawing(noise, order)
    assert len(str(payload)) < max_payload_bytes(shape) < 1.1 * len(payload["data"]) + 20_000
