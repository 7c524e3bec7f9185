"""The one home of the "missing extra" check: which extra a command needs, and the message that names it.

Two ways a command finds an extra missing: a library import inside the command raises
:class:`ModuleNotFoundError` (:func:`missing_extra` maps it to the extra, :func:`lesionkit.cli.main` prints
:func:`extra_message`), or a command checks up front for the modules it needs (:func:`require_extra`,
e.g. the server extra before a server starts). Either way the command exits 2 with one line naming the extra.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

__all__ = ["EXTRA_OF_MODULE", "SERVER_MODULES", "extra_message", "missing_extra", "missing_modules", "require_extra"]

#: The extra that installs each optional library (the core install has none of them).
EXTRA_OF_MODULE = {"torch": "model", "monai": "model", "ants": "preprocess", "httpx": "server"}
#: Where a command needs a library for another reason than its usual extra: synth only warps with torch.
_COMMAND_EXTRA = {("synth", "torch"): "synth"}
#: What the server extra installs that the web apps (``lesionkit review``, ``lesionkit challenge``) import.
SERVER_MODULES = ("fastapi", "uvicorn", "jinja2", "sqlalchemy", "alembic", "pwdlib", "multipart")


def missing_extra(command: str, error: ModuleNotFoundError) -> str | None:
    """The extra to install when ``command`` failed to import an optional library, else None."""
    module = (error.name or "").partition(".")[0]
    if module not in EXTRA_OF_MODULE:
        return None
    return _COMMAND_EXTRA.get((command, module), EXTRA_OF_MODULE[module])


def extra_message(extra: str, missing: Sequence[str] = ()) -> str:
    """``needs the 'EXTRA' extra: pip install 'lesionkit[EXTRA]'``, with the missing modules when known."""
    listed = f" (missing: {', '.join(missing)})" if missing else ""
    return f"needs the '{extra}' extra: pip install 'lesionkit[{extra}]'{listed}"


def missing_modules(modules: Sequence[str]) -> list[str]:
    """Those of ``modules`` that are not installed (found without importing them)."""
    return [m for m in modules if importlib.util.find_spec(m) is None]


def require_extra(extra: str, modules: Sequence[str]) -> None:
    """Raise :class:`~lesionkit.cli._checks.UsageError` (exit 2) naming ``extra`` unless ``modules`` are
    all installed."""
    missing = missing_modules(modules)
    if missing:
        from lesionkit.cli._checks import UsageError

        raise UsageError(extra_message(extra, missing))
