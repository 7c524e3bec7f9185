"""Shared fixtures: tiny volumes built on the fly with a seeded generator."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def affine() -> np.ndarray:
    return np.diag([1.0, 1.0, 1.0, 1.0])


def make_image(shape=(20, 20, 20), affine=None, seed=0) -> nib.Nifti1Image:
    """A random float32 'T1w' on a small grid."""
    data = np.random.default_rng(seed).random(shape, dtype=np.float32) * 100
    return nib.Nifti1Image(data, np.eye(4) if affine is None else affine)


def make_mask(shape=(20, 20, 20), affine=None, cube=(7, 13)) -> nib.Nifti1Image:
    """A uint8 mask holding one 6³ cube lesion."""
    data = np.zeros(shape, np.uint8)
    lo, hi = cube
    data[lo:hi, lo:hi, lo:hi] = 1
    return nib.Nifti1Image(data, np.eye(4) if affine is None else affine)


def make_leftover(folder, name="table.tsv", pid=None, age_s=0.0):
    """A temporary file as atomic_path names it, written by ``pid`` (default: a process that is gone)."""
    import os
    import subprocess
    import sys
    import time

    from lesionkit.io.atomic import temporary_path

    if pid is None:  # a pid that surely runs no longer: a child that has exited
        child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
        pid = int(child.stdout)
    name = temporary_path(folder / name).name.replace(f"-{os.getpid()}-", f"-{pid}-")
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("half")
    if age_s:
        os.utime(path, (time.time() - age_s, time.time() - age_s))
    return path
