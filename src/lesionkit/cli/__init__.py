"""The ``lesionkit`` command: thin argument parsing around the library.

Each sub-command lives in its own module of this package with two functions,
``add_parser(subparsers)`` and ``run(args) -> int``; heavy libraries (torch, ants) are imported inside
``run`` so ``lesionkit --help`` stays instant. Exit codes: 0 ok, 2 bad arguments (also an output location
that cannot be written, found before any work, or an extra the command needs that is not installed: the
message names it), 3 invalid input data, 130 after Ctrl-C, 143 after SIGTERM.
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
    "challenge", "review",
    "run",
    "qc",
)

EXIT_OK, EXIT_USAGE, EXIT_INVALID_INPUT = 0, 2, 3

#: The extra that installs each optional library (the core install has none of them).
EXTRA_OF_MODULE = {"torch": "model", "monai": "model", "ants": "preprocess", "httpx": "server"}
#: Where a command needs a library for another reason than its usual extra: synth only warps with torch.
_COMMAND_EXTRA = {("synth", "torch"): "synth"}


def missing_extra(command: str, error: ModuleNotFoundError) -> str | None:
    """The extra to install when ``command`` failed to import an optional library, else None."""
    module = (error.name or "").partition(".")[0]
    if module not in EXTRA_OF_MODULE:
        return None
    return _COMMAND_EXTRA.get((command, module), EXTRA_OF_MODULE[module])


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
    parsed = _get_parser().parse_args(args)
    from lesionkit.cli import _signals
    from lesionkit.cli._checks import UsageError
    from lesionkit.io.errors import InvalidInputError, OutputPathError

    with _signals.handled():
        try:
            return int(parsed._run(parsed) or 0)
        except InvalidInputError as error:
            print(f"lesionkit {parsed.command}: invalid input: {error}", file=sys.stderr)
            return EXIT_INVALID_INPUT
        except (UsageError, OutputPathError) as error:
            print(f"lesionkit {parsed.command}: {error}", file=sys.stderr)
            return EXIT_USAGE
        except ModuleNotFoundError as error:
            extra = missing_extra(parsed.command, error)
            if extra is None:
                raise
            print(f"lesionkit {parsed.command}: needs the '{extra}' extra: pip install 'lesionkit[{extra}]'",
                  file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt as interrupt:  # Ctrl-C, and SIGTERM through _signals
            _signals.clean_up()
            what = "terminated" if isinstance(interrupt, _signals.Terminated) else "interrupted"
            print(f"lesionkit {parsed.command}: {what}", file=sys.stderr)
            return _signals.exit_code(interrupt)


if __name__ == "__main__":
    sys.exit(main())
