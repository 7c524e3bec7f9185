"""Check an output location before any work starts, so a long run never fails at its first write.

:func:`check_output_dir` and :func:`check_output_file` create nothing (but a hidden probe folder,
removed at once) and refuse: an existing file where a folder is wanted, a path under a file, a folder
the user cannot write to (asked with ``access()``, then tried with the probe, which also catches special
and full file systems), a name longer than the file system allows (counting the temporary name
:func:`~lesionkit.io.atomic_path` writes first), and for files a suffix that says no known format.
Each problem is one :class:`~lesionkit.io.OutputPathError`."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from lesionkit.io.atomic import temporary_path
from lesionkit.io.errors import OutputPathError
from lesionkit.typing import PathLike

__all__ = ["IMAGE_SUFFIXES", "check_output_dir", "check_output_file"]

#: Figure formats matplotlib writes (by suffix) that lesionkit accepts for PNG-like outputs.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".pdf", ".svg")


def _limit(folder: Path, name: str, default: int) -> int:
    try:
        return os.pathconf(folder, name)
    except (OSError, ValueError):
        return default


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists; raises for a broken link or a path under a file."""
    current = path
    while not _exists(current):
        if os.path.islink(current):
            raise OutputPathError(path, f"{current} is a broken symbolic link")
        if current.parent == current:
            break
        current = current.parent
    if current != path and not current.is_dir():
        raise OutputPathError(path, f"{current} is a file, not a folder")
    return current


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError as error:
        if error.errno == errno.ENAMETOOLONG:  # reported with the offending name by _check_names
            return False
        raise


def _check_names(path: Path, existing: Path, extra: int = 0) -> None:
    """Every component and the whole path within the file system's limits (``extra``: temporary-name growth)."""
    name_max = _limit(existing, "PC_NAME_MAX", 255)
    parts = path.parts
    for i, part in enumerate(parts):
        grow = extra if i == len(parts) - 1 else 0
        size = len(os.fsencode(part)) + grow
        if size > name_max:
            shown = part if len(part) <= 40 else part[:20] + "…" + part[-12:]
            extra_note = f" (+{grow} for its temporary name)" if grow else ""
            raise OutputPathError(
                path, f"the name {shown!r} is {size - grow} bytes{extra_note}, longer than the {name_max} bytes the "
                "file system allows")
    path_max = _limit(existing, "PC_PATH_MAX", 4096)
    if len(os.fsencode(os.path.abspath(path))) + extra >= path_max:
        raise OutputPathError(path, f"the path is longer than the {path_max} bytes the file system allows")


def _check_writable(path: Path, folder: Path) -> None:
    if not os.access(folder, os.W_OK | os.X_OK):
        reason = "read-only file system" if _read_only(folder) else "permission denied"
        raise OutputPathError(path, f"folder {folder} is not writable ({reason})")
    # access() cannot tell everything (special file systems, a full disk): create and remove a probe.
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".lesionkit-probe-", dir=folder))
    except OSError as error:
        raise OutputPathError(path, f"cannot create anything in {folder} ({error.strerror})") from error


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


@contextlib.contextmanager
def _os_errors(path: Path) -> Iterator[None]:
    """What the file system itself refuses while looking at ``path``, as one OutputPathError."""
    try:
        yield
    except PermissionError as error:  # an ancestor the user may not even look into
        raise OutputPathError(path, f"permission denied ({error.filename})") from error
    except OSError as error:
        if error.errno == errno.ENAMETOOLONG:
            raise OutputPathError(path, "the name is longer than the file system allows") from error
        raise OutputPathError(path, error.strerror or str(error)) from error


def check_output_dir(path: PathLike) -> Path:
    """Check that ``path`` is, or can be created as, a folder this process can write into; returns it.

    Nothing is created (only a probe folder in the nearest existing folder, removed at once).

    Raises :class:`~lesionkit.io.OutputPathError` (``cannot write to PATH: reason``) when it exists as
    a file, lies under a file, is not writable or has a name the file system refuses.
    """
    path = Path(path)
    with _os_errors(path):
        existing = _nearest_existing(path)
        if existing == path and not path.is_dir():
            raise OutputPathError(path, "it exists and is not a folder")
        _check_names(path, existing)
        _check_writable(path, existing)
    return path


def check_output_file(path: PathLike, suffixes: Sequence[str] | None = None) -> Path:
    """Check that the file ``path`` can be written (atomically, through a temporary name beside it).

    ``suffixes`` (e.g. :data:`IMAGE_SUFFIXES`) are the accepted endings, compared case-insensitively.
    Raises :class:`~lesionkit.io.OutputPathError` when the path is a folder, lies under a file, has
    another suffix, sits in a folder that is not writable or has a name the file system refuses.
    """
    path = Path(path)
    if suffixes is not None and not path.name.lower().endswith(tuple(s.lower() for s in suffixes)):
        raise OutputPathError(path, f"the file name must end in one of {', '.join(suffixes)}")
    with _os_errors(path):
        existing = _nearest_existing(path)
        if existing == path and path.is_dir():
            raise OutputPathError(path, "it is a folder, expected a file name")
        folder = path.parent if existing == path else existing
        _check_names(path, folder, extra=len(temporary_path(path).name) - len(path.name))
        _check_writable(path, folder)
    return path
