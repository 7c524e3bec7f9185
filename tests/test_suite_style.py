"""Habits of the test suite itself that a grep can hold: a check for ``ValueError`` names its message."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_every_value_error_check_names_its_message():
    """``ValueError`` is what a wrong argument anywhere raises: without ``match=`` the test passes on the wrong one."""
    bare = [f"{path.relative_to(TESTS)}:{number}"
            for path in sorted(TESTS.rglob("test_*.py"))
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if re.search(r"pytest\.raises\(" + r"ValueError\)", line)]
    assert not bare, f"add match= to: {bare}"
