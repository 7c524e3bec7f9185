"""The exception types for input data and output locations lesionkit refuses."""

from __future__ import annotations

from pathlib import Path

__all__ = ["InvalidInputError", "OutputPathError"]


class InvalidInputError(ValueError):
    """Input data that lesionkit refuses, with the file and the problem named.

    The command line turns it into exit code 3 and prints ``str(error)``.
    """

    def __init__(self, path: str | Path | None, problem: str) -> None:
        self.path = None if path is None else Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path is not None else problem)

    def __reduce__(self):
        # Rebuild from (path, problem), not from the message: errors must cross process pools intact.
        return type(self), (self.path, self.problem)


class OutputPathError(ValueError):
    """An output location lesionkit cannot write to, found before any work starts.

    The command line turns it into exit code 2 (a bad argument) and prints ``str(error)``:
    ``cannot write to PATH: reason``.
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"cannot write to {path}: {problem}")

    def __reduce__(self):
        return type(self), (self.path, self.problem)
