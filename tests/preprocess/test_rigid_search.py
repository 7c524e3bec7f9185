import nibabel as nib
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from lesionkit.preprocess.orient import reorient_to_ras
from lesionkit.preprocess.rigid_search import BrainSimilarity, _deepest_point, _trilinear, rigid_search, rotation_grid
from tests.preprocess.native_case import make_native_case


def _mean_error(transform: np.ndarray, case) -> float:
    brain = np.argwhere(case.brain)
    world = np.c_[brain, np.ones(len(brain))] @ case.t1w.affine.T
    return float(np.linalg.norm((world @ transform.T - world @ case.transform.T)[:, :3], axis=1).mean())


def test_rotation_grid_covers_the_whole_sphere():
    grid = rotation_grid(30.0)
    np.testing.assert_allclose(np.linalg.det(grid), 1.0, atol=1e-9)
    np.testing.assert_allclose(grid @ grid.transpose(0, 2, 1), np.broadcast_to(np.eye(3), grid.shape), atol=1e-9)
    assert 600 < len(grid) < 800  # the Euler grid's duplicates at the poles are gone
    random = Rotation.random(500, random_state=1).as_matrix()
    cosine = (np.einsum("nij,mij->nm", random, grid).max(1) - 1) / 2
    assert np.degrees(np.arccos(np.clip(cosine, -1, 1))).max() < 25.0  # every pose is near a grid pose


def test_trilinear_matches_scipy_inside_and_is_zero_outside():
    from scipy import ndimage

    rng = np.random.default_rng(0)
    data = rng.random((7, 9, 5)).astype(np.float32)
    inside = rng.uniform(0, 1, (3, 50)) * (np.array(data.shape)[:, None] - 1.001)
    np.testing.assert_allclose(_trilinear(data, inside), ndimage.map_coordinates(data, inside, order=1), atol=1e-5)
    outside = np.array([[-1.0, 3.0, 7.5], [2.0, 9.5, 1.0], [1.0, 1.0, 1.0]])
    assert not _trilinear(data, outside).any()


def test_deepest_point_is_the_centre_of_a_ball_with_a_neck():
    grid = np.indices((40, 40, 60)).transpose(1, 2, 3, 0)
    ball = np.linalg.norm(grid - [20, 20, 35], axis=-1) <= 15
    neck = (np.linalg.norm(grid[..., :2] - [20, 20], axis=-1) <= 6) & (grid[..., 2] < 25)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    np.testing.assert_allclose(_deepest_point(ball | neck, affine), [40.0, 40.0, 70.0], atol=2.1)


@pytest.fixture(scope="module")
def rotated_case():
    """The scan that fooled the former ANTs ``affine_initializer`` search (69 mm when read from disk)."""
    return make_native_case(spacing=(2.5, 2.5, 2.5), lesion_radius=12.0)


def test_search_finds_a_large_rotation_and_is_deterministic(rotated_case, tmp_path):
    nib.save(rotated_case.t1w, tmp_path / "t1.nii.gz")
    image = reorient_to_ras(nib.load(tmp_path / "t1.nii.gz"))
    first = rigid_search(image)
    again = rigid_search(image)
    np.testing.assert_array_equal(first[0].transform, again[0].transform)
    assert [c.score for c in first] == sorted((c.score for c in first), reverse=True)
    assert _mean_error(first[0].transform, rotated_case) < 5.0  # a start for the affine, not the result
    assert first[0].score > first[-1].score + 0.2  # the right pose stands out


def test_brain_similarity_prefers_the_true_pose(rotated_case):
    image = reorient_to_ras(rotated_case.t1w)
    similarity = BrainSimilarity(image, 3.0)
    flipped = rotated_case.transform @ np.diag([-1.0, -1.0, 1.0, 1.0])  # head turned 180° about its axis
    assert similarity.score(rotated_case.transform) > 0.8
    assert similarity.score(rotated_case.transform) > similarity.score(flipped) + 0.3
