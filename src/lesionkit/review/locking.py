"""One writer at a time per derivatives folder: a thread lock for the app's request threads, and an
advisory ``flock`` on the folder itself for other processes (a second ``lesionkit review`` on the same
folder). No lock file is left behind: the lock is taken on the folder's own descriptor."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

__all__ = ["folder_lock"]

_LOCKS: dict[str, threading.Lock] = {}
_GUARD = threading.Lock()


@contextlib.contextmanager
def folder_lock(root: str | Path) -> Iterator[None]:
    """Hold the write lock of the folder ``root`` for the duration of the block."""
    key = os.path.realpath(root)
    with _GUARD:
        lock = _LOCKS.setdefault(key, threading.Lock())
    with lock:
        try:
            import fcntl
        except ImportError:  # not POSIX: the thread lock alone
            yield
            return
        fd = os.open(key, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock
