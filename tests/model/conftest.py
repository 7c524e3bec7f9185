"""Tiny on-the-fly cohorts for the model tests: bright head-like boxes with dark cubic lesions."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def make_case(rng: np.random.Generator, shape=(24, 24, 24), lesion=6) -> tuple[np.ndarray, np.ndarray]:
    """A noisy bright box ('head') on dark air with one dark cube ('lesion') inside it."""
    image = rng.normal(10.0, 2.0, shape).astype(np.float32)
    mask = np.zeros(shape, np.uint8)
    head = tuple(slice(2, s - 2) for s in shape)
    image[head] += 100.0
    corner = [int(rng.integers(3, s - lesion - 3)) for s in shape]
    box = tuple(slice(c, c + lesion) for c in corner)
    image[box] -= 60.0
    mask[box] = 1
    return image, mask


def write_cohort(root: Path, n: int, shape=(24, 24, 24), seed: int = 0) -> Path:
    """``root/sub-cNN/anat/sub-cNN_T1w.nii.gz`` + ``..._label-L_desc-T1lesion_mask.nii.gz``."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        image, mask = make_case(rng, shape)
        anat = root / f"sub-c{i:02d}" / "anat"
        anat.mkdir(parents=True, exist_ok=True)
        affine = np.diag([2.0, 2.0, 2.0, 1.0])
        nib.save(nib.Nifti1Image(image, affine), anat / f"sub-c{i:02d}_T1w.nii.gz")
        nib.save(nib.Nifti1Image(mask, affine), anat / f"sub-c{i:02d}_label-L_desc-T1lesion_mask.nii.gz")
    return root


@pytest.fixture
def tiny_cohort(tmp_path: Path) -> Path:
    return write_cohort(tmp_path / "cohort", 3)
