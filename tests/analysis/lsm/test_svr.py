"""SVR-LSM on unique patches equals SVR-LSM on voxels (sklearn's RBF SVR), and finds a planted region."""

import numpy as np
from sklearn.svm import SVR

from lesionkit.analysis.lsm.svr import svr_model


def test_patch_svr_equals_voxel_svr_with_dtlvc():
    rng = np.random.default_rng(0)
    voxels = rng.random((30, 12)) < 0.4
    voxels[:, 0] = True  # no empty lesion vector (dTLVC divides by its length)
    voxels = voxels[:, [0, 0, 1, 2, 2, 2, 3, 4, 5, 6, 7, 8]]  # repeated columns = patches of 2 and 3 voxels
    patches, inverse, counts = np.unique(voxels, axis=1, return_inverse=True, return_counts=True)
    scores = rng.normal(size=30)
    ours = svr_model(patches, counts).statistic(scores)[0][inverse.ravel()]
    x = voxels / np.linalg.norm(voxels, axis=1, keepdims=True)  # dTLVC on voxels
    y = (scores - scores.mean()) / scores.std(ddof=1)
    model = SVR(kernel="rbf", gamma=5.0, C=30.0, epsilon=0.1).fit(x, y)
    weights = model.dual_coef_[0] @ x[model.support_]
    assert np.allclose(ours, -weights, atol=1e-6)


def test_planted_voxels_get_the_largest_weights():
    rng = np.random.default_rng(1)
    lesion = rng.random((60, 40)) < 0.3
    scores = -2.0 * lesion[:, :3].sum(axis=1) + rng.normal(scale=0.5, size=60)
    statistic = svr_model(lesion, np.ones(40)).statistic(scores)[0]
    assert set(np.argsort(statistic)[-3:]) == {0, 1, 2}
