"""The ``lesionkit`` command: thin argument parsing around the library.

Each sub-command lives in its own module of this package with two functions,
``add_parser(subparsers)`` and ``run(args) -> int``; heavy libraries (torch, ants) are imported inside
``run`` so ``lesionkit --help`` stays instant. Exit codes: 0 ok, 2 bad arguments, 3 invalid input data.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from lesionkit import __version__

__all__ = ["main"]

#: Sub-command modules, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = (
    "synth", "evaluate", "montage", "preprocess", "train", "segment", "demo", "analyze", "overlap", "reliability",
    "run",
)

EXIT_OK, EXIT_USAGE, EXIT_INVALID_INPUT = 0, 2, 3


def _get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lesionkit", description="Chronic-stroke lesion toolkit for T1-weighted MRI (ATLAS)."
    )
    parser.add_argument("--version", action="version", version=f"lesionkit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"lesionkit.cli.{name}")
        sub = module.add_parser(subparsers)
        sub.set_defaults(_run=module.run)
    return parser


def main(args: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (also usable in-process by tests)."""
    from lesionkit.io.errors import InvalidInputError

    parsed = _get_parser().parse_args(args)
    try:
        return int(parsed._run(parsed) or 0)
    except InvalidInputError as error:
        print(f"lesionkit {parsed.command}: invalid input: {error}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    except KeyboardInterrupt:
        print(f"lesionkit {parsed.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
