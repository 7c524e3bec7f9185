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


# --- refused before writing: the bombs --------------------------------------------------------------

def _folder_bytes(folder) -> int:  # noqa: ANN001
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def _submission_limits():  # noqa: ANN202
    from lesionkit.challenge.scoring import _limits
    from lesionkit.challenge.tables import Phase

    return _limits(Phase(grid_shape=list(SHAPE), grid_affine=AFFINE.tolist(), max_unpacked_bytes=2 * 2**30,
                         max_members=2000))


@pytest.mark.parametrize("name", ["sub-r001s001_ses-1_mask.nii.gz",
                                  pytest.param("zeros.bin", marks=pytest.mark.slow)])
def test_one_mb_zip_of_a_gib_of_zeros_is_refused_before_writing(tmp_path, name):
    """The issue: a 1 MB zip holding 1 GiB of zeros was written in full, then scored. Its central directory
    declares the size: refused before a byte is written, whether or not it is named like a mask."""
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf, zf.open(name, "w", force_zip64=True) as member:
        chunk = bytes(1 << 20)
        for _ in range(1024):
            member.write(chunk)
    assert archive.stat().st_size < 2 * 2**20
    with pytest.raises(InvalidInputError, match=r"declares 1073741824 bytes, more than a mask can take"):
        extract_archive(archive, tmp_path / "out", _submission_limits())
    assert _folder_bytes(tmp_path / "out") == 0


def _million_entry_zip(path, entries: int = 1_000_000) -> None:  # noqa: ANN001
    """A valid zip of ``entries`` empty stored files (ZIP64 end records), written in chunks."""
    import struct

    local = [struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, 0, 0, 0, 7, 0) + f"{i:07d}".encode()
             for i in range(entries)]
    with path.open("wb") as out:
        for start in range(0, entries, 100_000):
            out.write(b"".join(local[start:start + 100_000]))
        cd_offset = out.tell()
        for start in range(0, entries, 100_000):
            out.write(b"".join(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0,
                                           0, 0, 0, i * 37) + f"{i:07d}".encode()
                               for i in range(start, min(entries, start + 100_000))))
        cd_size = out.tell() - cd_offset
        eocd64 = out.tell()
        out.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, entries, entries, cd_size, cd_offset))
        out.write(struct.pack("<IIQI", 0x07064B50, 0, eocd64, 1))
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))


@pytest.mark.slow
def test_million_entry_zip_is_refused_from_its_end_record_within_a_memory_bound(tmp_path):
    """The issue: 1,000,000 entries took the worker to 727 MB before the member-count check fired (zipfile
    parses the whole central directory first). The end record says how many there are: refused at once."""
    import tracemalloc

    archive = tmp_path / "million.zip"
    _million_entry_zip(archive)
    assert zipfile.ZipFile(archive).infolist()[999_999].filename == "0999999"  # a real zip (this parse is big)
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInputError, match="more than 2000 members"):
            extract_archive(archive, tmp_path / "out", _submission_limits())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20  # the 64 KiB tail read, not a directory of a million ZipInfo objects
    assert _folder_bytes(tmp_path / "out") == 0


def test_tar_member_declaring_more_than_the_cap_is_refused_at_its_header(tmp_path):
    """The issue: a 3 MB tar.gz wrote 2 GiB before the cap refused it. The tar header declares the size."""
    info = tarfile.TarInfo("sub-r001s001_ses-1_mask.nii")
    info.size = 3 * 2**30
    header = info.tobuf(format=tarfile.GNU_FORMAT)
    archive = write(tmp_path, "bomb.tar.gz", gzip.compress(header + bytes(8 * 2**20)))  # the data starts, truncated
    limits = ArchiveLimits(max_unpacked_bytes=2 * 2**30, max_members=10)
    with pytest.raises(InvalidInputError, match="unpacks to more than 2147483648 bytes"):
        extract_archive(archive, tmp_path / "out", limits)
    assert _folder_bytes(tmp_path / "out") == 0
    with pytest.raises(InvalidInputError, match="more than a mask can take"):
        extract_archive(archive, tmp_path / "out2", _submission_limits())
    assert _folder_bytes(tmp_path / "out2") == 0


def test_non_mask_members_are_listed_not_written(tmp_path):
    archive = write(tmp_path, "a.zip", zip_bytes({"sub-1_mask.nii.gz": b"x" * 10, "notes.txt": b"hi" * 100}))
    names = extract_archive(archive, tmp_path / "out", _submission_limits())
    assert sorted(names) == ["notes.txt", "sub-1_mask.nii.gz"]
    assert not (tmp_path / "out" / "notes.txt").exists() and _folder_bytes(tmp_path / "out") == 10
