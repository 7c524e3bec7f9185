"""Hostile inputs built on the fly, and subprocess runs of ``lesionkit`` for interrupts and peak memory."""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np

from lesionkit.io import ATLAS_AFFINE
from lesionkit.io.atomic import is_temporary

SPACE = "MNI152NLin2009aSym"
#: The ATLAS field of view at 2 mm (what ``lesionkit synth --resolution 2`` writes).
AFFINE2 = ATLAS_AFFINE.copy()
AFFINE2[:3, :3] *= 2
SHAPE2 = (99, 117, 95)
ROOT = os.geteuid() == 0  # root reads and writes regardless of permissions: those cases are simulated


def save(data: np.ndarray, path: Path, affine: np.ndarray = AFFINE2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, affine), path)
    return path


def lesion(corner=(40, 50, 40), size: int = 5, shape=SHAPE2) -> np.ndarray:
    data = np.zeros(shape, np.uint8)
    data[tuple(slice(c, c + size) for c in corner)] = 1
    return data


def head(seed: int = 0, shape=SHAPE2) -> np.ndarray:
    """A noisy bright box on dark air: enough of a 'T1w' for validation and drawing."""
    rng = np.random.default_rng(seed)
    image = rng.normal(20.0, 2.0, shape).astype(np.float32)
    image[tuple(slice(s // 6, s - s // 6) for s in shape)] += 300.0
    return image


def atlas_case(root: Path, subject: str, cohort: str = "R001", mask: np.ndarray | None = None,
               t1w: bool = True) -> dict[str, Path]:
    """One ATLAS v2.0 case: ``root/Training/R001/sub-X/ses-1/anat/…_T1w.nii.gz`` and ``…_desc-T1lesion_mask``."""
    anat = root / "Training" / cohort / f"sub-{subject}" / "ses-1" / "anat"
    stem = anat / f"sub-{subject}_ses-1_space-{SPACE}"
    paths = {"mask": save(lesion() if mask is None else mask, Path(f"{stem}_label-L_desc-T1lesion_mask.nii.gz"))}
    if t1w:
        paths["t1w"] = save(head(), Path(f"{stem}_T1w.nii.gz"))
    return paths


def prediction_path(root: Path, subject: str, suffix: str = "mask") -> Path:
    """Where ``lesionkit segment -o root`` writes a subject's mask or probability map."""
    name = f"sub-{subject}_ses-1_space-{SPACE}_label-L_desc-lesionkit_{suffix}.nii.gz"
    return root / f"sub-{subject}" / "ses-1" / "anat" / name


def rgb(mask: np.ndarray) -> np.ndarray:
    out = np.zeros(mask.shape, dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])
    out["R"] = mask * 255
    return out


def header_bomb(path: Path, shape=(1024, 1024, 1024)) -> Path:
    """A NIfTI header claiming ``shape`` uint8 and no data, gzipped: about 72 bytes on disk."""
    header = nib.Nifti1Header()
    header.set_data_shape(shape)
    header.set_data_dtype(np.uint8)
    buffer = io.BytesIO()
    with gzip.GzipFile(filename=path.name[:-3], mode="wb", fileobj=buffer, mtime=0) as handle:
        handle.write(header.binaryblock + b"\0" * 4)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return path


def tiny_model(path: Path) -> Path:
    import torch

    from lesionkit.model import NetworkConfig, build_network, save_checkpoint

    torch.manual_seed(0)
    config = NetworkConfig(widths=[8, 16], stem_stride=2)
    return save_checkpoint(path, build_network(config), config, roi_size=(32, 32, 32))


def files(folder: Path) -> list[str]:
    """Every file under ``folder`` (hidden ones included), relative, sorted; [] if it does not exist."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if is_temporary(p.name)] if folder.exists() else []


def one_line(text: str) -> str:
    """The single non-empty line of ``text`` (fails if there are more or none)."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


# The child stops inside atomic_path right before the rename: the temporary file is complete on disk,
# and the window stays open until the signal arrives (no sleep-and-hope on the test's side).
_HOLD = """
import os, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, whatever the parent ignores
from lesionkit.io import atomic
HOLD = {hold!r}
_replace = os.replace
def _held(src, dst, *args, **kwargs):
    name = os.path.basename(src)
    if atomic.is_temporary(name) and HOLD in name:
        while True:
            time.sleep(0.01)
    return _replace(src, dst, *args, **kwargs)
os.replace = _held
{prelude}
from lesionkit.cli import main
sys.exit(main(sys.argv[1:]))
"""


def interrupt_at_temporary(args: list[str], out: Path, signum: int, hold: str = "", prelude: str = "",
                           timeout: float = 240.0) -> tuple[int, str, list[Path]]:
    """Run ``lesionkit ARGS`` in a subprocess, send ``signum`` once a temporary file (whose name contains
    ``hold``) exists under ``out``; returns (exit code, stderr, the temporaries seen before the signal)."""
    code = _HOLD.format(hold=hold, prelude=prelude)
    child = subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    seen: list[Path] = []
    try:
        while not seen:
            if child.poll() is not None:
                raise AssertionError(f"lesionkit exited ({child.returncode}) before writing: {child.stderr.read()}")
            if time.monotonic() > deadline:
                raise AssertionError("no temporary file appeared in time")
            seen = [p for p in temporaries(out) if hold in p.name]
            time.sleep(0.02)
        child.send_signal(signum)
        _, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return child.returncode, stderr, seen


_RSS = """
import json, resource, subprocess, sys
run = subprocess.run([sys.executable, "-m", "lesionkit.cli", *sys.argv[1:]], capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # kB on Linux: this wrapper's one child
print(json.dumps({"code": run.returncode, "peak_kb": peak, "stderr": run.stderr}))
"""


def peak_rss(args: list[str]) -> tuple[int, float, str]:
    """(exit code, peak resident memory in MB, stderr) of ``lesionkit ARGS`` in a fresh process."""
    result = subprocess.run([sys.executable, "-c", _RSS, *map(str, args)], capture_output=True, text=True,
                            check=True)
    found = json.loads(result.stdout)
    return found["code"], found["peak_kb"] / 1024, found["stderr"]


SIGNALS = [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]


OUTPUT_PROBLEMS = ("file", "under-a-file", "read-only", "too-long")


def bad_output(kind: str, tmp_path: Path, monkeypatch) -> tuple[Path, str]:
    """An output location of the given kind that cannot be written, and the reason lesionkit gives."""
    if kind == "file":
        taken = tmp_path / "taken"
        taken.write_text("keep me")
        return taken, "it exists and is not a folder"
    if kind == "under-a-file":
        taken = tmp_path / "taken"
        taken.write_text("keep me")
        return taken / "out", f"{taken} is a file, not a folder"
    if kind == "read-only":
        locked = tmp_path / "locked"
        locked.mkdir()
        if ROOT:
            real = os.access
            monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == locked else real(p, mode))
        else:
            locked.chmod(0o555)
        return locked / "out", f"folder {locked} is not writable"
    return tmp_path / ("x" * 300), "longer than the 255 bytes the file system allows"
