"""Tiny inputs for the pipeline tests: a BIDS folder of 2 mm MNI-grid T1w images and a tiny network."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nibabel as nib
import numpy as np

from lesionkit.io import ATLAS_AFFINE, MNI_SPACE

#: The ATLAS field of view every 2 mm (what `lesionkit synth --resolution 2` writes).
SHAPE_2MM = (99, 117, 95)
AFFINE_2MM = ATLAS_AFFINE.copy()
AFFINE_2MM[:3, :3] *= 2


def mni_t1w(seed: int) -> np.ndarray:
    """A smooth head-like volume with a dark blob (a 'lesion'), different for every seed."""
    rng = np.random.default_rng(seed)
    grid = np.indices(SHAPE_2MM, dtype=np.float32)
    centre = np.array(SHAPE_2MM, np.float32)[:, None, None, None] / 2
    head = (((grid - centre) / (np.array(SHAPE_2MM)[:, None, None, None] * 0.4)) ** 2).sum(0) < 1
    data = np.where(head, 800.0, 0.0).astype(np.float32) + rng.normal(0, 20, SHAPE_2MM).astype(np.float32)
    blob = rng.integers(30, 60, size=3)
    data[tuple(slice(b, b + 6) for b in blob)] = 150.0
    return np.clip(data, 0, None)


def write_bids(root: Path, n: int, seed: int = 0) -> Path:
    """``root/sub-0i/ses-1/anat/sub-0i_ses-1_space-MNI152NLin2009aSym_T1w.nii.gz`` for i = 1…n."""
    for i in range(1, n + 1):
        anat = root / f"sub-{i:02d}" / "ses-1" / "anat"
        anat.mkdir(parents=True, exist_ok=True)
        img = nib.Nifti1Image(mni_t1w(seed + i), AFFINE_2MM)
        img.header.set_xyzt_units("mm")
        nib.save(img, anat / f"sub-{i:02d}_ses-1_space-{MNI_SPACE}_T1w.nii.gz")
    (root / "dataset_description.json").write_text('{"Name": "tiny", "BIDSVersion": "1.8.0"}\n')
    return root


def tiny_model(path: Path, threshold: float = 0.5) -> Path:
    """An untrained two-level network working at 2 mm (a second to segment a 2 mm volume)."""
    import torch

    from lesionkit.model import NetworkConfig, build_network, save_checkpoint

    torch.manual_seed(0)
    config = NetworkConfig(widths=[4, 8], stem_stride=2)
    return save_checkpoint(path, build_network(config), config, spacing=(2.0, 2.0, 2.0), roi_size=(100, 120, 96),
                           threshold=threshold)


def bids_validator() -> str:
    """The ``bids-validator-deno`` executable of this environment (the ``test`` extra installs it)."""
    found = Path(sys.executable).with_name("bids-validator-deno")
    path = str(found) if found.exists() else shutil.which("bids-validator-deno")
    assert path, "bids-validator-deno is missing: pip install 'lesionkit[test]'"
    return path


def validation_errors(folder: Path) -> list[dict]:
    """The errors (not warnings) ``bids-validator-deno`` reports for ``folder``, each ``{code, location, …}``.

    Tests compare them by ``location`` (the file), which every validator release reports; the codes and the
    schema are the locked release's (requirements/lock-test.txt), so a new release is a reviewed lock refresh."""
    import json
    import subprocess

    result = subprocess.run([bids_validator(), str(folder), "--format", "json"], capture_output=True, text=True,
                            timeout=120)
    report = json.loads(result.stdout)
    return [issue for issue in report["issues"]["issues"] if issue["severity"] == "error"]
