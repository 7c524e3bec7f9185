"""The one exception type for bad input data."""

from __future__ import annotations

from pathlib import Path


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
