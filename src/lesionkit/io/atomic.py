"""Atomic writes: write under a temporary name in the same folder, then rename.

A crash or a refused input therefore never leaves a half-written output behind. The temporary name,
``.<stem>.<host>-<pid>-<random>.tmp<suffixes>``, says which process wrote it, so a later run can tell the
leftovers of a killed run (SIGKILL, power loss) from the files a concurrent run is writing right now:
:func:`remove_stale_temporaries`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "STALE_AFTER_S",
    "atomic_path",
    "is_temporary",
    "remove_live_temporaries",
    "remove_stale_temporaries",
    "stale_temporaries",
    "temporary_path",
    "write_text",
]

#: A temporary file untouched this long (seconds) is a leftover whatever wrote it: no single write of
#: lesionkit pauses that long, and a file being written has its modification time updated as it grows.
STALE_AFTER_S = 600.0

_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]
# Current names carry host and pid; ``.<stem>.<8 hex>.tmp<ext>`` is what earlier versions wrote.
_TEMPORARY = re.compile(
    r"^\.(?P<stem>.+)\.(?:(?P<host>[0-9a-f]{6})-(?P<pid>\d+)-[0-9a-f]{6}|[0-9a-f]{8})\.tmp(?P<suffix>(?:\.[^./]+)*)$"
)
_LIVE: set[Path] = set()


def temporary_path(path: str | Path) -> Path:
    """The temporary name :func:`atomic_path` writes ``path`` under, in the same folder.

    It keeps the final suffixes (``.nii.gz``, ``.png``) so writers that choose their format by
    extension behave the same.
    """
    path = Path(path)
    suffix = "".join(path.suffixes)
    stem = path.name[: len(path.name) - len(suffix)] if suffix else path.name
    return path.with_name(f".{stem}.{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:6]}.tmp{suffix}")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    On any exception, Ctrl-C and (through the command line's handler) SIGTERM included, the temporary
    file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    _LIVE.add(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        _LIVE.discard(tmp)  # after the unlink: a second interrupt in between still finds it registered


def remove_live_temporaries() -> list[Path]:
    """Remove the temporary files of this process's unfinished :func:`atomic_path` blocks (interrupt cleanup)."""
    removed = []
    for tmp in sorted(_LIVE):
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
            removed.append(tmp)
        _LIVE.discard(tmp)
    return removed


def is_temporary(name: str) -> bool:
    """True if ``name`` is the name of one of lesionkit's temporary files."""
    return _TEMPORARY.match(name) is not None


def _is_stale(path: Path, now: float) -> bool:
    match = _TEMPORARY.match(path.name)
    if match is None or path in _LIVE:
        return False
    if match["host"] == _HOST and int(match["pid"]) != os.getpid():
        try:
            os.kill(int(match["pid"]), 0)
        except ProcessLookupError:
            return True  # its writer is gone
        except (PermissionError, OverflowError):
            pass  # another user's live process, or no such pid on this system
    try:
        return now - path.lstat().st_mtime > STALE_AFTER_S
    except FileNotFoundError:
        return False


def stale_temporaries(folder: str | Path, target: str | Path | None = None) -> list[Path]:
    """Temporary files an earlier, interrupted lesionkit run left under ``folder`` (recursively).

    A temporary file is stale when the process that wrote it (same host) no longer runs, or when it has
    not been touched for :data:`STALE_AFTER_S` seconds; files that concurrent runs are writing are not.
    With ``target`` (an output file), only the leftovers of that file, in its folder, are listed.
    """
    now = time.time()
    if target is not None:
        target = Path(target)
        if not target.parent.is_dir():
            return []
        names = [p for p in target.parent.iterdir() if _leftover_of(p.name) == target.name]
        return sorted(p for p in names if _is_stale(p, now))
    folder = Path(folder)
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):  # symlinks not followed: never clean elsewhere
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        found += [Path(dirpath) / n for n in filenames if n.startswith(".") and _is_stale(Path(dirpath) / n, now)]
    return sorted(found)


def _leftover_of(name: str) -> str | None:
    match = _TEMPORARY.match(name)
    return None if match is None else match["stem"] + match["suffix"]


def remove_stale_temporaries(folder: str | Path, target: str | Path | None = None) -> list[Path]:
    """Remove :func:`stale_temporaries` and return their paths."""
    removed = []
    for path in stale_temporaries(folder, target):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed


def write_text(path: str | Path, text: str) -> Path:
    """Atomically write a text file (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
