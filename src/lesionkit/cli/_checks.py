"""What every command checks before its work starts: argument values and output locations.

A bad value raises :class:`UsageError` and an unusable output location
:class:`~lesionkit.io.OutputPathError`; :func:`lesionkit.cli.main` prints either as one line on stderr
and exits with 2. :func:`output_dir` and :func:`output_file` also remove the temporary files an earlier,
killed run left there, saying so in one line.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from lesionkit.cli import _signals
from lesionkit.io.atomic import remove_stale_temporaries
from lesionkit.io.outputs import check_output_dir, check_output_file

__all__ = ["UsageError", "output_dir", "output_file", "require"]


class UsageError(ValueError):
    """A command-line argument with an unusable value (exit code 2)."""


def require(condition: bool, message: str) -> None:
    """Raise :class:`UsageError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise UsageError(message)


def _report(command: str, removed: list[Path], where: Path) -> None:
    if removed:
        print(f"lesionkit {command}: removed {len(removed)} temporary file(s) an interrupted run left in {where}",
              file=sys.stderr)


def output_dir(command: str, path: str | Path) -> Path:
    """Check an output folder (:func:`~lesionkit.io.check_output_dir`), clean an earlier run's leftovers."""
    path = check_output_dir(path)
    if path.is_dir():
        _report(command, remove_stale_temporaries(path), path)
    _signals.watch(path)
    return path


def output_file(command: str, path: str | Path, suffixes: Sequence[str] | None = None) -> Path:
    """Check an output file (:func:`~lesionkit.io.check_output_file`), clean an earlier run's leftovers of it."""
    path = check_output_file(path, suffixes)
    _report(command, remove_stale_temporaries(path.parent, target=path), path.parent)
    _signals.watch(path.parent, target=path)
    return path
