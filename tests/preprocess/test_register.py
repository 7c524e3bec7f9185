import numpy as np
import pytest

from lesionkit.preprocess.orient import reorient_to_ras
from lesionkit.preprocess.register import register_affine
from tests.preprocess.native_case import make_native_case


@pytest.mark.slow
@pytest.mark.ci_slow
@pytest.mark.parametrize("angles", [(20.0, 20.0, 20.0), (0.0, 0.0, 180.0)])
def test_registration_recovers_large_rotations(angles):
    """A coarse (3 mm) LPS, oblique scan rotated by up to 180°: mean error over brain voxels ≤ 2 mm."""
    case = make_native_case(spacing=(3.0, 3.0, 3.0), angles=angles)
    fit = register_affine(reorient_to_ras(case.t1w))
    brain = np.argwhere(case.brain)
    world = np.c_[brain, np.ones(len(brain))] @ case.t1w.affine.T
    error = np.linalg.norm((world @ fit.transform.T - world @ case.transform.T)[:, :3], axis=1)
    assert error.mean() <= 2.0
    assert set(fit.seconds) == {"initialisation", "affine"}
