"""Every module of ``src/lesionkit`` has its mirrored test module (``tests/<stage>/test_<module>.py``, a leading
underscore dropped) or is named in ``tests/README.md``'s table with the tests that cover it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "lesionkit"


def _listed() -> str:
    return (ROOT / "tests" / "README.md").read_text()


def _mirror(module: Path) -> Path:
    relative = module.relative_to(SOURCE)
    return ROOT / "tests" / relative.parent / f"test_{relative.stem.lstrip('_')}.py"


def _named(module: Path, table: str) -> bool:
    relative = module.relative_to(SOURCE).as_posix()
    folder, name = relative.rsplit("/", 1) if "/" in relative else ("", relative)
    rows = [line for line in table.splitlines() if line.startswith("|")]
    for row in rows:
        cell = row.split("|")[1]
        names = re.findall(r"`([^`]+)`", cell)
        current = ""
        for entry in names:  # "`cli/a.py`, `b.py`": later names share the first one's folder
            if "/" in entry:
                current = entry.rsplit("/", 1)[0] if not entry.endswith("/**") else entry[:-3]
            candidate = entry if "/" in entry else f"{current}/{entry}" if current else entry
            if candidate == relative or (entry.endswith("/**") and relative.startswith(entry[:-2])):
                return True
            if folder == current and entry == name:
                return True
    return False


def test_every_module_has_a_mirrored_test_or_a_named_cover():
    table = _listed()
    missing = [
        str(module.relative_to(SOURCE)) for module in sorted(SOURCE.rglob("*.py"))
        if module.name != "__init__.py" and not _mirror(module).exists() and not _named(module, table)
    ]
    assert not missing, f"modules with neither tests/<stage>/test_<module>.py nor a row in tests/README.md: {missing}"
