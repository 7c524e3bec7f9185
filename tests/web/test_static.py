"""The vendored niivue (lesionkit/web/static/niivue): the npm build byte for byte, its licence, shipped in the
wheel, self-contained; and the review app's own pages and scripts load nothing from other sites."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

import lesionkit

PACKAGE = Path(lesionkit.__file__).parent
NIIVUE = PACKAGE / "web" / "static" / "niivue"
ROOT = PACKAGE.parents[1]


def test_niivue_is_the_recorded_npm_build_with_its_licence():
    version = (NIIVUE / "VERSION").read_text()
    assert version.startswith("@niivue/niivue 0.69.0")
    recorded = re.search(r"niivue\.js sha256 ([0-9a-f]{64})", version).group(1)
    assert hashlib.sha256((NIIVUE / "niivue.js").read_bytes()).hexdigest() == recorded
    licence = (NIIVUE / "LICENSE").read_text()
    assert "BSD 2-Clause" in licence and "Copyright (c) 2021, Niivue" in licence
    assert "npm pack @niivue/niivue@0.69.0" in (NIIVUE / "README.md").read_text()


def test_niivue_imports_nothing_and_exports_what_the_viewer_uses():
    text = (NIIVUE / "niivue.js").read_text(encoding="utf-8")
    assert not re.search(r"^\s*import\s[^;]*?from\s*[\"']", text, re.M)  # self-contained: no static imports
    assert not re.search(r"\bimport\(\s*[\"']https?:", text)  # nor dynamic ones from the network
    exports = text[text.rindex("export {"):]
    assert re.search(r"\bNiivue,", exports) and re.search(r"\bSLICE_TYPE,", exports)


def test_the_wheel_ships_niivue_the_review_assets_and_templates():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["lesionkit"]
    for pattern in ("web/static/niivue/*", "web/static/review/*", "review/templates/*"):
        assert pattern in data
        assert list(PACKAGE.glob(pattern)), pattern


def test_review_pages_and_scripts_reference_no_other_site():
    files = [*(PACKAGE / "review" / "templates").glob("*.html"), *(PACKAGE / "web" / "static" / "review").iterdir()]
    assert len(files) >= 5
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I), path
        for ref in re.findall(r"""(?:src|href)=["']([^"']+)["']|from\s+["']([^"']+)["']""", text):
            target = next(r for r in ref if r)
            assert target.startswith(("/", "#", "data:", "{{")) and not target.startswith("//"), (path, target)
