"""Running code in a fresh interpreter, for tests about what gets imported or about process-wide state."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str, *args: str, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    """stdout of ``python -c code args…`` started afresh, importing this checkout's lesionkit (and ``tests``).

    ``env`` adds variables; a non-zero exit fails the calling test with the end of stderr.
    """
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])
    run = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=environment, capture_output=True,
                         text=True, timeout=timeout)
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout
