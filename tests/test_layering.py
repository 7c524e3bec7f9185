"""Every stage imports only the stages below it: DESIGN.md's data flow, checked on the source (lazy imports too).

DESIGN.md: io → (synth | preprocess) → model → metrics / analysis / qc → report → pipeline → (cli | challenge |
review); web is shared by challenge and review; the shared primitives (lesionkit.core) sit at the bottom. Read
as tiers, bottom first; a stage may import any stage of a lower tier and none of its own tier or above:

* metrics sits below analysis and qc: rater reliability (analysis) is scored with metrics' one Dice and HD;
* web is what challenge and review share, so it takes nothing of the stages but core and io;
* cli serves challenge and review (``lesionkit challenge``, ``lesionkit review``), so it sits above them.

tests/core/test_layering.py checks core at run time as well (importing it loads nothing else of lesionkit).
"""

from __future__ import annotations

import pytest

from tests._source import SRC, imported_modules, modules, relative, stage_of

TIERS: tuple[tuple[str, ...], ...] = (
    ("core",),
    ("io",),
    ("synth", "preprocess"),
    ("model",),
    ("metrics",),
    ("analysis", "qc"),
    ("report",),
    ("pipeline",),
    ("web",),
    ("challenge", "review"),
    ("cli",),
)
#: Stages that may import less than their tier allows.
NARROWER = {"web": {"core", "io"}}
STAGES = [stage for tier in TIERS for stage in tier]


def allowed(stage: str) -> set[str]:
    """The stages ``stage`` may import (besides itself)."""
    if stage in NARROWER:
        return NARROWER[stage]
    below = next(i for i, tier in enumerate(TIERS) if stage in tier)
    return {s for tier in TIERS[:below] for s in tier}


def test_the_tiers_name_every_stage_once():
    found = sorted(p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists())
    assert sorted(STAGES) == found


@pytest.mark.parametrize("stage", STAGES)
def test_stage_imports_only_lower_stages(stage):
    wrong = []
    for path in modules():
        if stage_of(path) != stage:
            continue
        for line, name in imported_modules(path):
            target = name.split(".")[1] if "." in name else None
            if target in STAGES and target != stage and target not in allowed(stage):
                wrong.append(f"{relative(path)}:{line} imports {name}")
    assert not wrong, f"{stage} may import only {sorted(allowed(stage))}: {wrong}"


def test_top_level_modules_import_no_stage_but_the_command_line():
    for path in modules():
        if stage_of(path) is not None:
            continue
        targets = {name.split(".")[1] for _, name in imported_modules(path) if "." in name}
        assert targets & set(STAGES) <= ({"cli"} if path.name == "__main__.py" else set()), relative(path)


def test_the_check_sees_a_wrong_import(tmp_path, monkeypatch):
    """The check itself: a core module that imports metrics is caught."""
    import tests._source as source

    bad = tmp_path / "lesionkit" / "core" / "bad.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("def f():\n    from lesionkit.metrics import evaluate_pair\n")
    monkeypatch.setattr(source, "SRC", tmp_path / "lesionkit")
    assert list(source.imported_modules(bad)) == [(2, "lesionkit.metrics")]
    assert source.stage_of(bad) == "core" and "metrics" not in allowed("core")
