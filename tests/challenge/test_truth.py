"""Hidden truth in server storage (lesionkit.challenge.truth): crops round-trip, and a truth archive is unpacked
with a submission's caps and header checks into a scratch folder that never outlives the block."""

from __future__ import annotations

import gzip
import struct
import zipfile

import numpy as np
import pytest

from lesionkit.challenge.truth import load_truth, store_truth, unpacked_truth
from lesionkit.io import InvalidInputError, load_cohort
from tests.challenge.conftest import TRUTH_BLOBS, truth_array, write_truth, zip_bytes, zip_folder


def test_stored_crops_round_trip(tmp_path):
    (case, *_) = load_cohort(write_truth(tmp_path / "truth"), space=None)
    name, _, shape = store_truth(case, tmp_path / "store")
    assert shape == (20, 20, 20) and name.endswith(".npz") and "sub-" not in name
    np.testing.assert_array_equal(load_truth(tmp_path / "store", name), truth_array(case.subject) != 0)


def test_unpacked_truth_from_a_path_or_a_stream_leaves_no_scratch(tmp_path):
    archive = zip_folder(write_truth(tmp_path / "truth"), tmp_path / "truth.zip")
    storage = tmp_path / "storage"
    storage.mkdir()
    with unpacked_truth(archive, storage) as folder:
        assert folder.parent == storage and len(load_cohort(folder, space=None)) == len(TRUTH_BLOBS)
    with archive.open("rb") as stream, unpacked_truth(stream, storage) as folder:
        assert len(list(folder.rglob("*_mask.nii.gz"))) == len(TRUTH_BLOBS)
    assert list(storage.iterdir()) == []


def _huge_header() -> bytes:
    """A valid NIfTI-1 header claiming a 4000³ float64 volume (512 GB), and 4 bytes of 'data'."""
    header = bytearray(348)
    struct.pack_into("<i", header, 0, 348)
    struct.pack_into("<8h", header, 40, 3, 4000, 4000, 4000, 1, 1, 1, 1)
    struct.pack_into("<hh", header, 70, 64, 64)
    struct.pack_into("<f", header, 108, 352.0)
    header[344:348] = b"n+1\x00"
    return gzip.compress(bytes(header) + bytes(4))


@pytest.mark.parametrize(("members", "message"), [
    ({"masks/sub-r001s001_mask.nii.gz": _huge_header()}, r"masks/sub-r001s001_mask.nii.gz: its header claims"),
    ({"masks/../../sub-r001s001_mask.nii.gz": b"x"}, r"contains '\.\.'"),
])
def test_unpacked_truth_refuses_with_paths_inside_the_archive(tmp_path, members, message):
    storage = tmp_path / "storage"
    storage.mkdir()
    (tmp_path / "t.zip").write_bytes(zip_bytes(members))
    with pytest.raises(InvalidInputError, match=message) as error, unpacked_truth(tmp_path / "t.zip", storage):
        pass
    assert str(storage) not in str(error.value) and list(storage.iterdir()) == []


def test_errors_inside_the_block_are_made_relative(tmp_path):
    storage = tmp_path / "storage"
    storage.mkdir()
    with zipfile.ZipFile(tmp_path / "t.zip", "w") as zf:
        zf.writestr("README.txt", "no masks here")
    with pytest.raises(InvalidInputError) as error, unpacked_truth(tmp_path / "t.zip", storage) as folder:
        raise InvalidInputError(folder, "holds no lesion masks")
    assert str(error.value) == "truth archive: holds no lesion masks"
