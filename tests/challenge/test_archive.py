"""Archive extraction limits and header-first NIfTI checks (lesionkit.challenge.archive)."""

from __future__ import annotations

import gzip
import io
import stat
import tarfile
import zipfile

import nibabel as nib
import numpy as np
import pytest

from lesionkit.challenge.archive import ArchiveLimits, Grid, extract_archive, read_mask
from lesionkit.io import InvalidInputError
from tests.challenge.conftest import AFFINE, SHAPE, tar_bytes, zip_bytes

GRID = Grid(SHAPE, AFFINE)


def nifti_bytes(data: np.ndarray, affine=AFFINE) -> bytes:  # noqa: ANN001
    return gzip.compress(nib.Nifti1Image(data, affine).to_bytes())


def write(tmp_path, name: str, payload: bytes):  # noqa: ANN001, ANN201
    path = tmp_path / name
    path.write_bytes(payload)
    return path


def test_extracts_nested_members(tmp_path):
    archive = write(tmp_path, "a.zip", zip_bytes({"preds/sub-1_mask.nii.gz": b"x" * 10, "notes.txt": b"hi"}))
    names = extract_archive(archive, tmp_path / "out")
    assert sorted(names) == ["notes.txt", "preds/sub-1_mask.nii.gz"]
    assert (tmp_path / "out" / "preds" / "sub-1_mask.nii.gz").read_bytes() == b"x" * 10


def test_zip_bomb_stops_at_the_cap_and_names_the_member(tmp_path):
    # 50 MB of zeros deflate to ~50 kB; the directory's declared size is hidden by rewriting it.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb.nii.gz", b"\0" * 50_000_000)
    raw = buffer.getvalue()
    assert len(raw) < 200_000
    archive = write(tmp_path, "bomb.zip", raw)
    with pytest.raises(InvalidInputError, match="bomb.nii.gz: archive unpacks to more than 1000000 bytes"):
        extract_archive(archive, tmp_path / "out", ArchiveLimits(max_unpacked_bytes=1_000_000))
    # Declared sizes can lie: patch the central directory and local header to claim 10 bytes.
    lying = bytearray(raw)
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        pos = lying.find(sig)
        lying[pos + offset : pos + offset + 4] = (10).to_bytes(4, "little")
    archive = write(tmp_path, "lying.zip", bytes(lying))
    with pytest.raises(InvalidInputError) as error:
        extract_archive(archive, tmp_path / "out2", ArchiveLimits(max_unpacked_bytes=1_000_000))
    assert "bomb.nii.gz" in str(error.value) or "corrupt" in str(error.value)
    written = sum(p.stat().st_size for p in (tmp_path / "out2").rglob("*") if p.is_file())
    assert written <= 1_000_000 + (1 << 20)


@pytest.mark.parametrize("name, problem", [("../evil.nii.gz", "'..'"), ("a/../../evil.nii.gz", "'..'"),
                                           ("/etc/evil.nii.gz", "absolute path"), ("C:/evil.nii.gz", "absolute path")])
def test_zip_slip_refused(tmp_path, name, problem):
    archive = write(tmp_path, "slip.zip", zip_bytes({name: b"data"}))
    with pytest.raises(InvalidInputError, match=problem) as error:
        extract_archive(archive, tmp_path / "out")
    assert name in str(error.value)
    assert not (tmp_path / "evil.nii.gz").exists()


def test_tar_slip_refused(tmp_path):
    info = tarfile.TarInfo("../../evil.nii.gz")
    info.size = 4
    archive = write(tmp_path, "slip.tar.gz", tar_bytes([info], {"../../evil.nii.gz": b"data"}))
    with pytest.raises(InvalidInputError, match="'..'"):
        extract_archive(archive, tmp_path / "out")


def test_symlink_members_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        info = zipfile.ZipInfo("link.nii.gz")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    archive = write(tmp_path, "link.zip", buffer.getvalue())
    with pytest.raises(InvalidInputError, match="link.nii.gz: archive member is a symbolic link"):
        extract_archive(archive, tmp_path / "out")
    link = tarfile.TarInfo("sub-1_mask.nii.gz")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    archive = write(tmp_path, "link.tar.gz", tar_bytes([link]))
    with pytest.raises(InvalidInputError, match="symbolic or hard link"):
        extract_archive(archive, tmp_path / "out2")


def test_device_member_refused(tmp_path):
    device = tarfile.TarInfo("dev.nii.gz")
    device.type = tarfile.CHRTYPE
    archive = write(tmp_path, "dev.tar.gz", tar_bytes([device]))
    with pytest.raises(InvalidInputError, match="dev.nii.gz: archive member is a device"):
        extract_archive(archive, tmp_path / "out")


def test_too_many_members(tmp_path):
    archive = write(tmp_path, "many.zip", zip_bytes({f"f{i}.txt": b"" for i in range(12)}))
    with pytest.raises(InvalidInputError, match="more than 10 members"):
        extract_archive(archive, tmp_path / "out", ArchiveLimits(max_members=10))


def test_not_an_archive(tmp_path):
    with pytest.raises(InvalidInputError, match="not a .zip or .tar.gz"):
        extract_archive(write(tmp_path, "x.zip", b"hello, not an archive"), tmp_path / "out", display_name="x.zip")


def test_reads_a_valid_mask(tmp_path):
    data = np.zeros(SHAPE, np.uint8)
    data[4:9, 4:9, 4:9] = 1
    mask, warnings = read_mask(write(tmp_path, "m.nii.gz", nifti_bytes(data)), GRID)
    assert mask.dtype == bool and mask.sum() == 125 and warnings == []


def test_identity_affine_accepted_with_warning(tmp_path):
    mask, warnings = read_mask(write(tmp_path, "m.nii.gz", nifti_bytes(np.zeros(SHAPE, np.uint8), np.eye(4))), GRID)
    assert mask.shape == SHAPE and "identity affine" in warnings[0]


def test_huge_header_is_refused_before_decompressing(tmp_path, monkeypatch):
    """A 400-byte file claiming 30 000³ float64 voxels (216 TB) fails on the header; no data is read."""
    header = nib.Nifti1Header()
    header.set_data_shape((30_000, 30_000, 30_000))
    header.set_data_dtype(np.float64)
    header["vox_offset"] = 352
    raw = header.binaryblock + b"\0" * 4 + b"\0" * 48
    path = write(tmp_path, "huge.nii.gz", gzip.compress(raw))
    assert path.stat().st_size < 500
    reads = []
    original = gzip.GzipFile.read
    monkeypatch.setattr(gzip.GzipFile, "read", lambda self, n=-1: reads.append(n) or original(self, n))
    with pytest.raises(InvalidInputError, match=r"huge.nii.gz: image dimensions \(30000, 30000, 30000\) differ"):
        read_mask(path, GRID, "huge.nii.gz")
    assert reads == [348]


@pytest.mark.parametrize("payload, problem", [
    (gzip.compress(b"just some text, certainly not a NIfTI header" * 20), "not a single-file NIfTI-1"),
    (b"\x1f\x8b\x08\x00garbage", "corrupt gzip"),
    (b"short", "shorter than a NIfTI header"),
], ids=["text", "bad-gzip", "short"])
def test_non_nifti_refused(tmp_path, payload, problem):
    with pytest.raises(InvalidInputError, match=problem):
        read_mask(write(tmp_path, "fake_mask.nii.gz", payload), GRID)


def test_wrong_grid_refused(tmp_path):
    with pytest.raises(InvalidInputError, match=r"\(21, 20, 20\) differ from the phase grid \(20, 20, 20\)"):
        read_mask(write(tmp_path, "m.nii.gz", nifti_bytes(np.zeros((21, 20, 20), np.uint8))), GRID)
    shifted = AFFINE.copy()
    shifted[0, 3] += 5
    with pytest.raises(InvalidInputError, match="affine differs from the phase grid"):
        read_mask(write(tmp_path, "m2.nii.gz", nifti_bytes(np.zeros(SHAPE, np.uint8), shifted)), GRID)


def test_nan_and_non_binary_data_refused(tmp_path):
    data = np.zeros(SHAPE, np.float32)
    data[3, 3, 3] = np.nan
    with pytest.raises(InvalidInputError, match="NaN or infinite"):
        read_mask(write(tmp_path, "nan.nii.gz", nifti_bytes(data)), GRID)
    data[3, 3, 3] = 0.5
    with pytest.raises(InvalidInputError, match="values other than 0 and 1"):
        read_mask(write(tmp_path, "half.nii.gz", nifti_bytes(data)), GRID)
    with pytest.raises(InvalidInputError, match="values other than 0 and 1"):
        read_mask(write(tmp_path, "two.nii.gz", nifti_bytes(np.full(SHAPE, 2, np.int16))), GRID)


def test_bad_dtype_offset_and_truncation(tmp_path):
    img = nib.Nifti1Image(np.zeros(SHAPE, np.complex64), AFFINE)
    with pytest.raises(InvalidInputError, match="complex64 is not allowed"):
        read_mask(write(tmp_path, "c.nii.gz", gzip.compress(img.to_bytes())), GRID)
    raw = bytearray(nib.Nifti1Image(np.zeros(SHAPE, np.uint8), AFFINE).to_bytes())
    raw[108:112] = np.float32(1e12).tobytes()
    with pytest.raises(InvalidInputError, match="vox_offset"):
        read_mask(write(tmp_path, "o.nii.gz", gzip.compress(bytes(raw))), GRID)
    whole = nib.Nifti1Image(np.zeros(SHAPE, np.uint8), AFFINE).to_bytes()
    with pytest.raises(InvalidInputError, match="truncated"):
        read_mask(write(tmp_path, "t.nii.gz", gzip.compress(whole[:-100])), GRID)


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_extracts_from_an_open_file_with_the_same_refusals(tmp_path, kind):
    members = {"preds/sub-1_mask.nii.gz": b"x" * 10}
    if kind == "zip":
        good, slip = zip_bytes(members), zip_bytes({"../escape.nii.gz": b"x"})
    else:
        info = tarfile.TarInfo("preds/sub-1_mask.nii.gz")
        info.size = 10
        evil = tarfile.TarInfo("../escape.nii.gz")
        evil.size = 1
        good, slip = tar_bytes([info], members), tar_bytes([evil], {"../escape.nii.gz": b"x"})
    with io.BytesIO(good) as stream:  # an upload's spooled file, never written under its own name
        assert extract_archive(stream, tmp_path / "out") == ["preds/sub-1_mask.nii.gz"]
    with io.BytesIO(slip) as stream, pytest.raises(InvalidInputError, match=r"escape.nii.gz: .*contains '\.\.'"):
        extract_archive(stream, tmp_path / "out2")
    assert not (tmp_path / "escape.nii.gz").exists()


def test_relative_error_shows_no_server_path(tmp_path):
    from lesionkit.challenge.archive import relative_error

    scratch = tmp_path / "unpack-123"
    inner = relative_error(InvalidInputError(scratch / "a" / "m.nii.gz", f"differs from {scratch}/b.nii.gz"),
                           scratch, "upload")
    assert str(inner) == "a/m.nii.gz: differs from b.nii.gz"
    root = relative_error(InvalidInputError(scratch, f"cannot read {scratch}"), scratch, "truth archive")
    assert str(root) == "truth archive: cannot read truth archive" and str(tmp_path) not in str(root)
