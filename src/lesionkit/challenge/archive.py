"""Submission archives: streaming extraction with limits, and NIfTI checks that read the header first.

:func:`extract_archive` refuses what it will refuse before writing it: a zip's member count and central
directory size are read from its end record before the directory is parsed (a million entries would take
hundreds of MB as Python objects), every member's declared size is checked against the per-member and total
caps before a byte of it is written (zip central directory, tar header), and the bytes really written are
counted as they stream (declared sizes can lie). It also refuses — naming the member — absolute paths, ``..``,
symlinks, hard links and devices; members whose names the caller does not want (``only_suffixes``) are listed
but never written. :func:`read_mask` parses the 348-byte
NIfTI-1 header out of the (gzip) stream before any voxel is decompressed: the dimensions must be the phase's
grid (a 400-byte header may claim 18 GB), the dtype a plain number type and ``vox_offset`` sane; only then is
exactly the claimed data read, and it must be finite and 0/1. Messages name the file and never the truth.
"""

from __future__ import annotations

import gzip
import shutil
import stat
import struct
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import nibabel as nib
import numpy as np

from lesionkit.io.errors import InvalidInputError

__all__ = ["ArchiveLimits", "Grid", "extract_archive", "read_mask", "relative_error", "remove_tree"]

_CHUNK = 1 << 20
#: NIfTI data types a mask may be stored in (no complex, RGB or 128-bit types).
MASK_DTYPES = frozenset(
    np.dtype(t).name for t in ("uint8", "int8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32",
                               "float64")
)
#: Largest header-plus-extensions block accepted before the voxel data.
MAX_VOX_OFFSET = 352 + 64 * 1024


@dataclass(frozen=True)
class ArchiveLimits:
    """Caps applied while unpacking one submission."""

    max_unpacked_bytes: int = 2 * 2**30
    max_members: int = 2000
    max_member_bytes: int | None = None
    """Largest declared size of one member (a submission: one mask on the phase grid as float64)."""
    only_suffixes: tuple[str, ...] | None = None
    """Write only members whose names end so (others are listed, not written); None: write every file."""

    def wants(self, name: str) -> bool:
        return self.only_suffixes is None or name.lower().endswith(self.only_suffixes)


@dataclass(frozen=True)
class Grid:
    """A phase's voxel grid: every prediction must have this shape and affine."""

    shape: tuple[int, int, int]
    affine: np.ndarray

    @property
    def spacing(self) -> tuple[float, float, float]:
        return tuple(float(v) for v in np.linalg.norm(self.affine[:3, :3], axis=0))  # type: ignore[return-value]


def _safe_relative(name: str) -> PurePosixPath:
    """The member's path if it stays inside the extraction folder; raises otherwise."""
    if not name or "\x00" in name or "\\" in name or len(name) > 400:
        raise InvalidInputError(name or "<empty name>", "archive member name is not allowed")
    path = PurePosixPath(name)
    if path.is_absolute() or (path.parts and path.parts[0].endswith(":")):
        raise InvalidInputError(name, "archive member has an absolute path")
    if ".." in path.parts:
        raise InvalidInputError(name, "archive member path contains '..'")
    parts = [p for p in path.parts if p not in ("", ".")]
    if not parts:
        raise InvalidInputError(name, "archive member name is not allowed")
    return PurePosixPath(*parts)


class _Budget:
    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits, self.bytes, self.members = limits, 0, 0

    def member(self, name: str) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise InvalidInputError(name, f"archive has more than {self.limits.max_members} members")

    def declared(self, size: int, name: str, written: bool = True) -> None:
        """Refuse a member by its declared size, before anything of it is written (a member that will not be
        written is still refused past the per-member cap: nothing that size belongs in a submission)."""
        cap = self.limits.max_member_bytes
        if cap is not None and size > cap:
            raise InvalidInputError(name, f"archive member declares {size} bytes, more than a mask can take ({cap})")
        if written and self.bytes + size > self.limits.max_unpacked_bytes:
            limit = self.limits.max_unpacked_bytes
            raise InvalidInputError(name, f"archive unpacks to more than {limit} bytes (limit)")

    def copy(self, source, target: Path, name: str) -> None:  # noqa: ANN001
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            raise InvalidInputError(name, "archive holds this member twice")
        with target.open("wb") as out:
            while chunk := source.read(_CHUNK):
                self.bytes += len(chunk)
                if self.bytes > self.limits.max_unpacked_bytes:
                    raise InvalidInputError(
                        name, f"archive unpacks to more than {self.limits.max_unpacked_bytes} bytes (limit)"
                    )
                out.write(chunk)


def _extract_zip(archive: zipfile.ZipFile, dest: Path, budget: _Budget) -> list[str]:
    names = []
    for info in archive.infolist():
        budget.member(info.filename)
        rel = _safe_relative(info.filename)
        kind = stat.S_IFMT(info.external_attr >> 16)  # 0: no Unix type recorded (Windows, writestr)
        if kind == stat.S_IFLNK:
            raise InvalidInputError(info.filename, "archive member is a symbolic link")
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise InvalidInputError(info.filename, "archive member is a device or special file")
        if info.is_dir():
            continue
        if info.flag_bits & 0x1:
            raise InvalidInputError(info.filename, "archive member is encrypted")
        names.append(str(rel))
        budget.declared(info.file_size, info.filename, budget.limits.wants(info.filename))
        if not budget.limits.wants(info.filename):
            continue
        with archive.open(info) as source:
            budget.copy(source, dest / rel, info.filename)
    return names


def _extract_tar(archive: tarfile.TarFile, dest: Path, budget: _Budget) -> list[str]:
    names = []
    for member in archive:  # stream mode: one pass, members in order
        budget.member(member.name)
        rel = _safe_relative(member.name)
        if member.issym() or member.islnk():
            raise InvalidInputError(member.name, "archive member is a symbolic or hard link")
        if member.isdev() or member.isfifo():
            raise InvalidInputError(member.name, "archive member is a device or special file")
        if member.isdir():
            continue
        if not member.isfile():
            raise InvalidInputError(member.name, "archive member is not a regular file")
        names.append(str(rel))
        budget.declared(member.size, member.name, budget.limits.wants(member.name))
        if not budget.limits.wants(member.name):
            continue
        budget.copy(archive.extractfile(member), dest / rel, member.name)
    return names


#: Bytes one central-directory entry may take (46-byte record, a 400-character name, extras and comment).
_MAX_ENTRY_BYTES = 46 + 400 + 2 * 1024
_EOCD, _EOCD64, _LOCATOR64 = b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07"


def _zip_directory_size(source: Path | BinaryIO) -> tuple[int, int]:
    """(entries, central directory bytes) as a zip's end record declares them (ZIP64 included), read from the
    last 64 KiB without parsing the directory."""
    handle = source.open("rb") if isinstance(source, Path) else source
    try:
        end = handle.seek(0, 2)
        handle.seek(max(0, end - (1 << 16) - 22))
        tail = handle.read()
        at = tail.rfind(_EOCD)
        if at < 0 or len(tail) < at + 22:
            raise zipfile.BadZipFile("no end record")
        entries, size = struct.unpack("<xxxxxxxxxxHI", tail[at:at + 16])
        locator = tail.rfind(_LOCATOR64, 0, at)
        if locator >= 0 and (entries == 0xFFFF or size == 0xFFFFFFFF):
            (offset,) = struct.unpack("<Q", tail[locator + 8:locator + 16])
            handle.seek(offset)
            record = handle.read(56)
            if record[:4] != _EOCD64:
                raise zipfile.BadZipFile("bad ZIP64 end record")
            entries, size = struct.unpack("<QQ", record[32:48])
        return int(entries), int(size)
    finally:
        if isinstance(source, Path):
            handle.close()
        else:
            handle.seek(0)


def _check_zip_directory(source: Path | BinaryIO, limits: ArchiveLimits, display_name: str) -> None:
    entries, size = _zip_directory_size(source)
    if entries > limits.max_members:
        raise InvalidInputError(display_name, f"archive has more than {limits.max_members} members ({entries})")
    if size > limits.max_members * _MAX_ENTRY_BYTES:
        raise InvalidInputError(display_name, f"archive's central directory ({size} bytes) is larger than "
                                              f"{limits.max_members} members can need")


def extract_archive(archive: Path | str | BinaryIO, dest: Path | str, limits: ArchiveLimits = ArchiveLimits(),
                    display_name: str = "upload") -> list[str]:
    """Unpack ``archive`` (zip or tar, optionally gzip/bz2/xz; a path or a seekable binary file) into ``dest``;
    returns the files' relative paths.

    Raises :class:`~lesionkit.io.InvalidInputError` naming the offending member; ``dest`` may then hold
    partial output, which the caller removes (it is a private scratch folder).
    """
    source = archive if hasattr(archive, "read") else Path(archive)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    budget = _Budget(limits)
    try:
        if zipfile.is_zipfile(source):
            _check_zip_directory(source, limits, display_name)
            with zipfile.ZipFile(source) as zf:
                declared = 0
                for info in zf.infolist():  # refuse early when the directory already says so
                    declared += info.file_size if limits.wants(info.filename) else 0
                    if declared > limits.max_unpacked_bytes:
                        raise InvalidInputError(info.filename, f"archive unpacks to more than "
                                                               f"{limits.max_unpacked_bytes} bytes (limit)")
                return _extract_zip(zf, dest, budget)
        try:
            if isinstance(source, Path):
                tf = tarfile.open(source, mode="r|*")
            else:
                source.seek(0)  # is_zipfile read the end of the file
                tf = tarfile.open(fileobj=source, mode="r|*")
        except tarfile.TarError:
            raise InvalidInputError(display_name, "is not a .zip or .tar.gz archive") from None
        with tf:
            return _extract_tar(tf, dest, budget)
    except InvalidInputError:
        raise
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, zlib.error, ValueError) as exc:
        raise InvalidInputError(display_name, f"archive is corrupt or truncated ({type(exc).__name__})") from None


def _open_stream(path: Path):  # noqa: ANN202
    with path.open("rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else path.open("rb")


def read_mask(path: Path | str, grid: Grid, name: str | None = None) -> tuple[np.ndarray, list[str]]:
    """Validate one predicted mask and return it (bool array on ``grid``) with any warnings.

    ``name`` is what messages call the file (its path inside the archive).
    """
    path = Path(path)
    name = name or path.name
    try:
        with _open_stream(path) as stream:
            raw = stream.read(348)
            if len(raw) < 348:
                raise InvalidInputError(name, "is not a NIfTI-1 file (shorter than a NIfTI header)")
            size_le, size_be = int.from_bytes(raw[:4], "little"), int.from_bytes(raw[:4], "big")
            if 348 not in (size_le, size_be) or raw[344:348] != b"n+1\x00":
                raise InvalidInputError(name, "is not a single-file NIfTI-1 image (.nii or .nii.gz)")
            header = nib.Nifti1Header(raw, check=False)
            dim = [int(d) for d in header["dim"]]
            ndim = dim[0]
            shape = tuple(dim[1:4])
            if not (ndim == 3 or (ndim == 4 and dim[4] == 1)) or shape != tuple(grid.shape):
                claimed = tuple(dim[1 : 1 + max(0, min(ndim, 7))])
                raise InvalidInputError(
                    name, f"image dimensions {claimed} differ from the phase grid {tuple(grid.shape)}"
                )
            try:
                dtype = header.get_data_dtype()
            except Exception:  # nibabel raises for unknown datatype codes
                raise InvalidInputError(name, f"unknown NIfTI datatype code {int(header['datatype'])}") from None
            if dtype.name not in MASK_DTYPES:
                raise InvalidInputError(name, f"data type {dtype.name} is not allowed for a mask")
            offset = float(header["vox_offset"])
            if not (352 <= offset <= MAX_VOX_OFFSET) or offset != int(offset):
                raise InvalidInputError(name, f"vox_offset {offset:g} is not a sane NIfTI data offset")
            n_bytes = int(np.prod(shape)) * dtype.itemsize
            rest = stream.read(int(offset) - 348 + n_bytes)  # bounded: never more than the grid's data
    except InvalidInputError:
        raise
    except (OSError, EOFError, zlib.error) as exc:
        raise InvalidInputError(name, f"cannot be read: corrupt gzip stream ({type(exc).__name__})") from None
    if len(rest) < int(offset) - 348 + n_bytes:
        raise InvalidInputError(name, "is truncated: it holds less data than its header claims")
    data = np.frombuffer(rest, dtype=dtype, count=int(np.prod(shape)), offset=int(offset) - 348)
    data = data.reshape(shape, order="F")
    slope, inter = header.get_slope_inter()
    if slope is not None and (slope != 1 or (inter or 0) != 0):
        data = data * slope + (inter or 0)
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        raise InvalidInputError(name, "holds NaN or infinite values; a mask must be 0/1")
    off_grid = data.dtype.kind == "f" and not ((data == 0) | (data == 1)).all()
    if data.size and (data.min() < 0 or data.max() > 1 or off_grid):
        raise InvalidInputError(name, "holds values other than 0 and 1; a mask must be binary")
    warnings = []
    affine = header.get_best_affine()
    if not np.allclose(affine, grid.affine, atol=1e-3):
        if np.allclose(affine, np.eye(4)) or np.allclose(affine[:3, :3], np.eye(3)) and not affine[:3, 3].any():
            warnings.append(f"{name}: identity affine (as the official ATLAS writer saves); read on the phase grid")
        else:
            raise InvalidInputError(name, "affine differs from the phase grid (wrong space or orientation)")
    return data != 0, warnings


def relative_error(error: InvalidInputError, folder: Path, root_name: str) -> InvalidInputError:
    """The same error with the scratch ``folder`` cut out of it: paths inside the archive only, the folder itself
    called ``root_name`` (server paths are never shown)."""
    prefix = str(folder)
    path = None if error.path is None else str(error.path)
    if path is not None:
        path = root_name if path == prefix else path.removeprefix(prefix + "/")
    return InvalidInputError(path, error.problem.replace(prefix + "/", "").replace(prefix, root_name))


def remove_tree(path: Path) -> None:
    """Remove a scratch folder, ignoring what is already gone."""
    shutil.rmtree(path, ignore_errors=True)
