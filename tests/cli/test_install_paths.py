"""The environments users really install: the lock files (requirements/lock-*.txt) agree with pyproject.toml,
every third-party module lesionkit imports is declared in the extra that uses it, and ``lesionkit challenge
submit`` works from an environment built from the ``[all]`` lock (what scripts/demo.sh makes), not ``[test]``."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import threading
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests._python import ROOT

LOCKS = {"core": ROOT / "requirements" / "lock-core.txt", "all": ROOT / "requirements" / "lock-all.txt",
         "test": ROOT / "requirements" / "lock-test.txt"}
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def lock_pins(path: Path) -> dict[str, str]:
    """``{canonical name: version}`` of a lock file's ``name==version`` lines; every pin must carry hashes."""
    text = path.read_text(encoding="utf-8")
    pins = dict(re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\\n\s+--hash=sha256:[0-9a-f]{64}", text, re.M))
    assert len(pins) == len(re.findall(r"^[A-Za-z0-9][^\s#]*==", text, re.M)), f"{path.name}: a pin without a hash"
    return {canonicalize_name(name): version for name, version in pins.items()}


def declared(extra: str) -> list[Requirement]:
    """The requirements of ``lesionkit[extra]`` (``core``: none), self-references to other extras expanded."""
    requirements = [Requirement(spec) for spec in PROJECT["dependencies"]]
    todo, seen = ([] if extra == "core" else [extra]), set()
    while todo:
        name = todo.pop()
        seen.add(name)
        for spec in PROJECT["optional-dependencies"][name]:
            requirement = Requirement(spec)
            if requirement.name == "lesionkit":
                todo.extend(requirement.extras - seen)
            else:
                requirements.append(requirement)
    return requirements


@pytest.mark.parametrize("extra", sorted(LOCKS))
def test_each_lock_pins_every_declared_requirement_within_its_range(extra):
    """A dependency added to pyproject.toml without `bash scripts/lock.sh` fails here, naming it."""
    pins = lock_pins(LOCKS[extra])
    for requirement in declared(extra):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is declared for [{extra}] but not in {LOCKS[extra].name}: bash scripts/lock.sh"
        assert requirement.specifier.contains(pins[name], prereleases=True), (requirement, pins[name])


def test_the_locks_agree_and_pin_the_cpu_torch():
    core, all_, test = (lock_pins(LOCKS[name]) for name in ("core", "all", "test"))
    assert core.items() <= all_.items() <= test.items()
    assert all_["torch"] == test["torch"] == "2.13.0+cpu" and "torch" not in core
    assert {"pip", "setuptools"} <= core.keys()  # the venv holds nothing the lock does not name


def _third_party_imports(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.partition(".")[0])
    return {m for m in modules if m not in sys.stdlib_module_names and m not in ("lesionkit", "__future__")}


def test_every_imported_module_is_declared_outside_the_test_extra():
    """httpx used to come only with [test], so `challenge submit` died in a [all] install (issue 21)."""
    distributions = metadata.packages_distributions()
    usable = {canonicalize_name(r.name) for r in declared("all")}  # core + every extra a user installs
    undeclared = {}
    for path in sorted((ROOT / "src" / "lesionkit").rglob("*.py")):
        for module in _third_party_imports(path):
            names = {canonicalize_name(d) for d in distributions.get(module, [])}
            assert names, f"{path}: imports {module}, which no installed distribution provides"
            if not names & usable:
                undeclared[module] = path.relative_to(ROOT).as_posix()
    assert not undeclared, f"imported but not declared in pyproject.toml's core or extras: {undeclared}"


def test_the_challenge_client_modules_are_in_the_all_lock():
    assert {"httpx", "httpcore", "h11"} <= lock_pins(LOCKS["all"]).keys()


def _venv_from_lock(venv: Path, extras: str) -> Path:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    build = subprocess.run(["bash", "-c", f'source scripts/_venv.sh "{venv}" {extras}'], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=1800)
    assert build.returncode == 0, build.stderr[-3000:]
    return venv / "bin"


@pytest.mark.slow
@pytest.mark.ci_slow
def test_challenge_submit_from_the_all_lock(tmp_path):
    """scripts/_venv.sh builds the [all] environment (minutes: torch's wheel), its pip freeze is the lock, and
    its `lesionkit challenge submit` uploads to a live server (this process's) and prints the scores."""
    pytest.importorskip("fastapi")
    from lesionkit.challenge.server import create_challenge_app
    from lesionkit.challenge.worker import run_worker
    from lesionkit.cli import main
    from lesionkit.web.database import Database
    from tests.challenge.conftest import LiveServer, write_predictions, write_truth

    bin_dir = _venv_from_lock(tmp_path / "venv", "all")
    freeze = subprocess.run([bin_dir / "python", "-m", "pip", "freeze", "--all", "--exclude-editable"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert {canonicalize_name(line.split("==")[0]): line.split("==")[1] for line in freeze} == lock_pins(LOCKS["all"])
    assert subprocess.run([bin_dir / "python", "-c", "import pytest"], capture_output=True).returncode != 0

    db = str(tmp_path / "c.db")
    assert main(["challenge", "init", db, "--phase", "test", "--truth", str(write_truth(tmp_path / "truth")),
                 "--admin", "org", "--admin-email", "org@example.org"]) == 0
    token = subprocess.run([bin_dir / "lesionkit", "challenge", "token", db, "--user", "org"], capture_output=True,
                           text=True, check=True).stdout.strip()
    database, stop = Database(db), threading.Event()
    worker = threading.Thread(target=run_worker, args=(database,), kwargs={"poll_seconds": 0.1, "stop": stop})
    preds = write_predictions(tmp_path / "preds")
    try:
        with LiveServer(create_challenge_app(database)) as server:
            worker.start()
            submit = subprocess.run([bin_dir / "lesionkit", "challenge", "submit", server.url, preds, "--token",
                                     token, "--phase", "test", "--method", "m", "--description", "from [all]",
                                     "--code-url", "https://example.org"], capture_output=True, text=True,
                                    timeout=300)
    finally:
        stop.set()
        worker.join(30)
        database.dispose()
    assert submit.returncode == 0, submit.stdout + submit.stderr
    assert "submission 1: scored" in submit.stdout and "dice:" in submit.stdout
