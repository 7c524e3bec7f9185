"""The library's warnings, as the command line shows them: one line each on stderr, after the work they concern.

``with reported_warnings("overlap"): ...`` collects every :class:`UserWarning` raised in the block (the library's
own notices: subjects excluded, a figure that could not show everything) and prints each as
``lesionkit overlap: warning: MESSAGE`` on stderr when the block ends, also when it ends with an error. Other
warning classes (a dependency's deprecations) are not the user's business and are dropped.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Iterator

__all__ = ["reported_warnings"]


@contextlib.contextmanager
def reported_warnings(command: str) -> Iterator[None]:
    """Print the block's UserWarnings to stderr, one line each, prefixed ``lesionkit COMMAND: warning:``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for warning in caught:
                if issubclass(warning.category, UserWarning):
                    message = " ".join(str(warning.message).splitlines())
                    print(f"lesionkit {command}: warning: {message}", file=sys.stderr)
