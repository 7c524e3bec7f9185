"""The core install: io, metrics, analysis, report and their commands work without torch, MONAI or ANTsPy,
and a command that needs a missing extra exits 2 naming it (:func:`lesionkit.cli.missing_extra`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lesionkit.io import ATLAS_AFFINE
from tests._python import ROOT, run_python
from tests.metrics._trees import SHAPE, cube, pred_tree, save, truth_tree

# Runs lesionkit commands in a fresh interpreter where importing torch, monai or ants raises
# ModuleNotFoundError, exactly as in an environment without the extras.
_BLOCKED = """
import contextlib, importlib, io, json, pkgutil, sys
for name in ("torch", "monai", "ants"):
    sys.modules[name] = None
import lesionkit
core = [m.name for m in pkgutil.walk_packages(lesionkit.__path__, "lesionkit.")
        if m.name.split(".")[1] in ("core", "io", "metrics", "analysis", "qc", "report")
        or m.name in ("lesionkit.cli", *(f"lesionkit.cli.{c}" for c in ("evaluate", "analyze", "overlap",
                                                                         "reliability", "montage", "qc")))]
for name in core:
    importlib.import_module(name)
from lesionkit.cli import main
runs = {"imported": core}
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(argv)
    runs[argv[0]] = {"code": code, "stderr": err.getvalue()}
print(json.dumps(runs))
"""


def _blocked_run(commands: list[list[str]]) -> dict:
    return json.loads(run_python(_BLOCKED, json.dumps(commands)).strip().splitlines()[-1])


def _t1w(path: Path, shape=(12, 12, 10)) -> Path:
    data = np.random.default_rng(0).normal(100, 10, shape).astype(np.float32)
    return save(data, path)


def test_core_commands_run_and_the_others_name_their_extra(tmp_path):
    truth = truth_tree(tmp_path / "truth", {"r001s001": cube(2, 6), "r001s002": cube(3, 8)})
    for subject in ("r001s001", "r001s002"):
        _t1w(truth / "Training" / "R001" / f"sub-{subject}" / "ses-1" / "anat" /
             f"sub-{subject}_ses-1_space-MNI152NLin2009aSym_T1w.nii.gz", SHAPE)
    pred = pred_tree(tmp_path / "pred", {"r001s001": cube(2, 7), "r001s002": cube(3, 8)})
    t1w = _t1w(tmp_path / "native" / "sub-01_T1w.nii.gz")
    mni_2mm = ATLAS_AFFINE @ np.diag([2.0, 2.0, 2.0, 1.0])  # what `lesionkit synth --resolution 2` writes
    lesion = np.zeros((99, 117, 95), np.uint8)
    lesion[30:34, 55:59, 50:54] = 1
    save(lesion, tmp_path / "masks" / "sub-01_mask.nii.gz", mni_2mm)
    out = {name: tmp_path / name for name in ("evaluation", "analysis", "overlap", "reliability", "seg", "model",
                                              "prep", "synth", "demo")}
    runs = _blocked_run([
        ["evaluate", str(pred), str(truth), "-o", str(out["evaluation"]), "--quiet", "--bootstrap", "50"],
        ["analyze", str(tmp_path / "masks"), "-o", str(out["analysis"]), "--quiet", "--no-report"],
        ["overlap", str(truth), "-o", str(out["overlap"]), "--quiet"],
        ["reliability", str(truth), str(pred), "-o", str(out["reliability"]), "--quiet"],
        ["montage", str(truth), "-o", str(tmp_path / "montage.png")],
        ["qc", str(pred), "-o", str(tmp_path / "qc")],
        ["segment", str(t1w), "-o", str(out["seg"])],
        ["train", str(truth), "-o", str(out["model"])],
        ["preprocess", str(t1w), str(out["prep"])],
        ["synth", str(out["synth"]), "--subjects", "2", "--seed", "0", "--jobs", "2"],
        ["demo", "-o", str(out["demo"]), "--subjects", "1"],
    ])
    assert {"lesionkit.core", "lesionkit.metrics.pair", "lesionkit.analysis.quantify",
            "lesionkit.report.evaluation", "lesionkit.io.templates"} <= set(runs["imported"])
    assert runs["evaluate"]["code"] == 0, runs["evaluate"]["stderr"]
    rows = pd.read_csv(out["evaluation"] / "metrics.tsv", sep="\t")
    assert rows["dice"].round(4).tolist() == [round(2 * 64 / (64 + 125), 4), 1.0]
    assert (out["evaluation"] / "report.html").exists()
    for command in ("analyze", "overlap", "reliability", "montage", "qc"):
        assert runs[command]["code"] == 0, (command, runs[command]["stderr"])
    assert len(pd.read_csv(out["analysis"] / "lesions.tsv", sep="\t")) == 1
    assert (out["overlap"] / "overlap_count.nii.gz").exists()
    assert len(pd.read_csv(out["reliability"] / "pairs.tsv", sep="\t")) == 2
    assert (tmp_path / "montage.png").read_bytes()[:4] == b"\x89PNG"
    assert len(pd.read_csv(tmp_path / "qc" / "qc.tsv", sep="\t")) == 2
    for command, extra in [("segment", "model"), ("train", "model"), ("preprocess", "preprocess"),
                           ("synth", "synth"), ("demo", "model")]:
        run = runs[command]
        assert run["code"] == 2, (command, run)
        assert run["stderr"] == f"lesionkit {command}: needs the '{extra}' extra: pip install 'lesionkit[{extra}]'\n"
    assert not any((out["prep"]).rglob("*.nii.gz")) and not any(out["seg"].rglob("*.nii.gz"))


def test_other_missing_modules_are_not_blamed_on_an_extra():
    from lesionkit.cli import missing_extra

    assert missing_extra("segment", ModuleNotFoundError("No module named 'torch.nn'", name="torch.nn")) == "model"
    assert missing_extra("synth", ModuleNotFoundError(name="torch")) == "synth"
    assert missing_extra("challenge", ModuleNotFoundError(name="httpx")) == "server"  # the submit client
    assert missing_extra("analyze", ModuleNotFoundError(name="scipy")) is None
    assert missing_extra("analyze", ModuleNotFoundError()) is None


@pytest.mark.slow
def test_a_fresh_venv_with_only_the_core_install(tmp_path):
    """``pip install .`` without extras into a new venv: ``lesionkit evaluate`` works there, torch is absent,
    and ``lesionkit segment`` exits 2 naming ``lesionkit[model]`` (minutes: installs the core wheels)."""
    import shutil
    import time

    source = tmp_path / "lesionkit"  # a copy of what a build needs, so the checkout gets no build/ or egg-info
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        source.mkdir(exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    python, lesionkit = venv / "bin" / "python", venv / "bin" / "lesionkit"
    install = subprocess.run([python, "-m", "pip", "install", "--quiet", str(source)], env=env,
                             capture_output=True, text=True, timeout=1800)
    assert install.returncode == 0, install.stderr[-3000:]
    print(f"core install: {time.perf_counter() - start:.0f} s")

    truth = truth_tree(tmp_path / "truth", {"r001s001": cube(2, 6), "r001s002": cube(3, 8)})
    pred = pred_tree(tmp_path / "pred", {"r001s001": cube(2, 7), "r001s002": cube(3, 8)})

    def run(*args):
        return subprocess.run([str(a) for a in args], env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=600)

    evaluation = run(lesionkit, "evaluate", pred, truth, "-o", tmp_path / "evaluation", "--quiet")
    assert evaluation.returncode == 0, evaluation.stderr
    rows = pd.read_csv(tmp_path / "evaluation" / "metrics.tsv", sep="\t")
    assert rows["dice"].round(4).tolist() == [round(2 * 64 / (64 + 125), 4), 1.0]
    print(evaluation.stdout)
    no_torch = run(python, "-c", "import torch")
    assert no_torch.returncode != 0 and "No module named 'torch'" in no_torch.stderr
    for module in ("monai", "ants"):
        assert run(python, "-c", f"import {module}").returncode != 0
    segment = run(lesionkit, "segment", _t1w(tmp_path / "sub-01_T1w.nii.gz"), "-o", tmp_path / "seg")
    assert segment.returncode == 2
    assert segment.stderr.strip() == "lesionkit segment: needs the 'model' extra: pip install 'lesionkit[model]'"
    print(segment.stderr.strip())
