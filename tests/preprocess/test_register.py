import numpy as np
import pytest

from lesionkit.preprocess.orient import reorient_to_ras
from lesionkit.preprocess.register import RegistrationSettings, register_affine, transform_problems
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


def _affine(linear: np.ndarray) -> np.ndarray:
    out = np.eye(4)
    out[:3, :3] = linear
    out[:3, 3] = (5.0, -3.0, 2.0)
    return out


def test_plausible_head_affines_pass_the_sanity_check():
    from scipy.spatial.transform import Rotation

    settings = RegistrationSettings()
    rotation = Rotation.from_euler("xyz", [40, -120, 75], degrees=True).as_matrix()
    assert transform_problems(_affine(rotation), settings) == []
    # scaling along the MNI axes after any rotation is what a head's affine to MNI looks like
    assert transform_problems(_affine(np.diag([1.1, 0.9, 1.05]) @ rotation), settings) == []


@pytest.mark.parametrize(
    ("linear", "problem"),
    [
        (np.diag([-1.0, 1.0, 1.0]), "reflection"),
        (np.diag([0.6, 0.6, 0.6]), "scales"),
        (np.diag([1.0, 1.5, 1.0]), "scales"),
        (np.array([[1.0, 0.4, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), "shear"),
    ],
)
def test_implausible_affines_are_named(linear, problem):
    problems = transform_problems(_affine(linear), RegistrationSettings())
    assert len(problems) == 1 and problems[0].startswith(problem)
