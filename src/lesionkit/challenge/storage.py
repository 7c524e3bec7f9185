"""Server storage housekeeping: scratch folders named after the process that made them, and the start-up sweep
that removes what killed processes left behind (a worker's half-unpacked archive, a server's half-written
upload, an upload whose submission was never recorded).

Layout under the challenge's storage folder: ``uploads/`` (archives, opaque names), ``truth/`` and ``images/``
(per phase), and scratch folders ``scratch-<host>-<pid>-<random>`` while an archive is unpacked.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

from lesionkit.io import remove_stale_temporaries

__all__ = ["ORPHAN_UPLOAD_AGE_S", "clean_database_storage", "clean_storage", "scratch_folder", "uploads_folder"]

log = logging.getLogger("lesionkit.challenge")
#: An upload file no submission names is an orphan once this old (a live upload is recorded within seconds
#: of its last byte; the age keeps the sweep off uploads being written right now).
ORPHAN_UPLOAD_AGE_S = 3600.0
_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]
_PREFIXES = ("scratch-", "unpack-", "truth-unpack-")


def uploads_folder(storage: Path | str) -> Path:
    return Path(storage) / "uploads"


def scratch_folder(storage: Path | str) -> Path:
    """A new private scratch folder in ``storage`` whose name says which process owns it."""
    return Path(tempfile.mkdtemp(prefix=f"scratch-{_HOST}-{os.getpid()}-", dir=storage))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _orphan_scratch(path: Path, now: float) -> bool:
    parts = path.name.split("-")
    if path.name.startswith("scratch-") and len(parts) >= 4 and parts[1] == _HOST and parts[2].isdigit():
        return int(parts[2]) != os.getpid() and not _alive(int(parts[2]))
    # another host's scratch, or one named by an older version: only once clearly abandoned
    return now - path.stat().st_mtime > ORPHAN_UPLOAD_AGE_S


def clean_storage(storage: Path | str, known_uploads: set[str] | None = None) -> list[Path]:
    """Remove leftovers of killed processes: scratch folders whose process is gone, stale temporary upload files,
    and (given ``known_uploads``, the archive names the database holds) uploads no submission names. Returns
    what was removed."""
    storage, now = Path(storage), time.time()
    removed: list[Path] = []
    if not storage.is_dir():
        return removed
    for path in storage.iterdir():
        if path.is_dir() and path.name.startswith(_PREFIXES) and _orphan_scratch(path, now):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    uploads = uploads_folder(storage)
    if uploads.is_dir():
        removed += remove_stale_temporaries(uploads)
        if known_uploads is not None:
            for path in uploads.glob("*.upload"):
                if path.name not in known_uploads and now - path.stat().st_mtime > ORPHAN_UPLOAD_AGE_S:
                    path.unlink(missing_ok=True)
                    removed.append(path)
    if removed:
        log.info("storage: removed %d leftover(s) of killed processes", len(removed))
    return removed


def clean_database_storage(db) -> list[Path]:  # noqa: ANN001
    """:func:`clean_storage` of the challenge in ``db`` (nothing when it holds no challenge yet)."""
    from sqlalchemy import select

    from lesionkit.challenge.tables import Challenge, Submission

    with db.read() as session:
        storage = session.scalar(select(Challenge.storage))
        if storage is None:
            return []
        known = set(session.scalars(select(Submission.archive_name)))
    return clean_storage(storage, known)
