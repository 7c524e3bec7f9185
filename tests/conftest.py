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
