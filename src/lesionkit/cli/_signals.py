"""SIGTERM handled like Ctrl-C, so ``kill``, ``timeout``, SLURM and ``docker stop`` leave no temporary files.

While :func:`handled` is active, SIGTERM raises :class:`Terminated` (a :class:`KeyboardInterrupt`) in
the main thread: the ``finally`` of every :func:`~lesionkit.io.atomic_path` block removes its temporary
file, as on Ctrl-C. :func:`clean_up` then removes what is left: temporaries of this process whose block
was cut short, and stale ones of dead worker processes in the output folders the command registered
with :func:`watch`. Exit codes follow the shell: 130 after SIGINT, 143 after SIGTERM.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

from lesionkit.io.atomic import remove_live_temporaries, remove_stale_temporaries

__all__ = ["Terminated", "clean_up", "exit_code", "handled", "watch"]

_WATCHED: list[tuple[Path, Path | None]] = []


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` for the duration of the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    outer = list(_WATCHED)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        _WATCHED[:] = outer


def watch(folder: Path, target: Path | None = None) -> None:
    """Register an output folder (or, with ``target``, one output file in it) for :func:`clean_up`."""
    _WATCHED.append((Path(folder), None if target is None else Path(target)))


def clean_up() -> list[Path]:
    """After an interrupt: remove this process's unfinished temporaries and dead writers' leftovers.

    A second Ctrl-C or SIGTERM meanwhile (``docker stop`` may repeat itself) is ignored until it is done.
    """
    main = threading.current_thread() is threading.main_thread()
    previous = [(s, signal.signal(s, signal.SIG_IGN)) for s in (signal.SIGINT, signal.SIGTERM)] if main else []
    try:
        removed = remove_live_temporaries()
        for folder, target in _WATCHED:
            if folder.is_dir():
                removed += remove_stale_temporaries(folder, target)
        return removed
    finally:
        for signum, handler in previous:
            signal.signal(signum, handler)


def exit_code(interrupt: KeyboardInterrupt) -> int:
    """128 + the signal number: 143 for SIGTERM, 130 for SIGINT."""
    return 128 + (signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT)
