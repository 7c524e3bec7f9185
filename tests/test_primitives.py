"""Each shared primitive has one home; this greps the code (strings and comments left out) for it elsewhere.

* labelling (connected components): :mod:`lesionkit.core.components`;
* probability → mask (``probability >= threshold``) and the default threshold: :mod:`lesionkit.core.threshold`;
* the "missing extra" check and its message: :mod:`lesionkit.cli._extras`.
"""

from __future__ import annotations

import re

import pytest

from tests._source import code_lines, modules, relative

RULES = {
    "labelling": (
        r"\b(ndimage|ndi|measure|morphology)\.label\(|\bcc3d\b|\bconnected_components\(",
        {"core/components.py"},
    ),
    "thresholding a probability": (r"\bprob\w*(\.dataobj)?\)*\s*>=?[^=]", {"core/threshold.py"}),
    "a literal default threshold": (
        r"\b(DEFAULT_THRESHOLD|threshold)\s*(:[^=,)]*)?=\s*0?\.5\b|[\"']Threshold[\"']\s*,\s*0?\.5\b",
        {"core/threshold.py"},
    ),
    "checking for a missing extra": (r"\bfind_spec\(|\bpip install\b", {"cli/_extras.py"}),
}
#: Known copies waiting for their owner (helper `chal` rewrites cli/challenge.py to call require_extra).
PENDING: set[tuple[str, str]] = set()


def _matches(pattern: str, *, text: bool = False) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in modules():
        lines = enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text else code_lines(path)
        for number, line in lines:
            if re.search(pattern, line):
                found.setdefault(relative(path), []).append(f"{number}: {line.strip()}")
    return found


@pytest.mark.parametrize("rule", RULES)
def test_primitive_lives_in_its_home_only(rule):
    pattern, home = RULES[rule]
    # the missing-extra message is a string: search the text, not only the code
    found = _matches(pattern, text=rule == "checking for a missing extra")
    outside = {module: lines for module, lines in found.items() if module not in home and (rule, module) not in PENDING}
    assert not outside, f"{rule} belongs in {sorted(home)}; found elsewhere: {outside}"
    assert set(found) & home, f"the rule for {rule} no longer finds its home {sorted(home)}: update the pattern"


def test_the_patterns_catch_the_copies_they_are_for():
    examples = {
        "labelling": ["labels, n = ndimage.label(mask)", "import cc3d"],
        "thresholding a probability": ["mask = (np.asanyarray(probability.dataobj) >= threshold)",
                                       "lesion = prob > 0.3"],
        "a literal default threshold": ["def f(x, threshold: float = 0.5):", "record.get('Threshold', 0.5)"],
        "checking for a missing extra": ["if importlib.util.find_spec('fastapi') is None:"],
    }
    for rule, lines in examples.items():
        for line in lines:
            assert re.search(RULES[rule][0], line), (rule, line)
    for harmless in ("cst_threshold: float = CST_THRESHOLD", "probability == other", "wm_probability >= 0.5"):
        assert not any(re.search(pattern, harmless) for pattern, _ in RULES.values()), harmless
