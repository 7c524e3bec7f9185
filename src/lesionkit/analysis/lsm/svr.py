"""SVR-LSM: support-vector regression lesion–symptom mapping (Zhang et al. 2014; DeMarco & Turkeltaub 2018).

One epsilon-SVR with a radial-basis kernel predicts the (standardised) score from all tested voxels at
once; the voxel weights are the primal-space approximation ``w = Σ_i α_i x_i`` over the support vectors
(what SVR-LSM, LESYMAP's ``lsm_svr`` and the SVR-LSM GUI report). Defaults are theirs: ``gamma = 5``,
``C = 30``, ``epsilon = 0.1``.

**Lesion-volume control** is *direct total lesion volume control* (dTLVC, Zhang 2014; DeMarco &
Turkeltaub 2018's recommended default): each subject's lesion vector is scaled to unit length, so a large
lesion does not weigh more than a small one by its size alone.

Patches stand for their voxels exactly: a patch column of ``c`` voxels is scaled by ``sqrt(c)`` so the
kernel's squared distances equal the voxel-space ones, and a patch weight divided by ``sqrt(c)`` is the
weight of each of its voxels. The kernel matrix (N × N) does not change under permutation of the scores,
so it is computed once and every permutation is one small quadratic programme (``kernel="precomputed"``):
thousands of permutations take minutes, not the hours LESYMAP warns of.

Statistics follow the package's sign convention: ``-w`` (positive where lesions lower the score).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SVRModel", "svr_model"]


@dataclass(frozen=True)
class SVRModel:
    """The fixed part of an SVR-LSM: features, kernel and hyper-parameters."""

    features: np.ndarray
    """(N, P) patch features after dTLVC and the ``sqrt(voxels)`` scaling."""
    kernel: np.ndarray
    """(N, N) radial-basis kernel."""
    patch_scale: np.ndarray
    c: float
    epsilon: float

    def statistic(self, scores: np.ndarray) -> np.ndarray:
        """``-w`` per voxel of each patch for each score column (N × B → B × P)."""
        from sklearn.svm import SVR

        scores = np.asarray(scores, dtype=np.float64)
        scores = scores[:, None] if scores.ndim == 1 else scores
        out = np.empty((scores.shape[1], self.features.shape[1]))
        for b in range(scores.shape[1]):
            y = scores[:, b]
            y = (y - y.mean()) / y.std(ddof=1)  # LESYMAP and the SVR-LSM GUI standardise the score
            model = SVR(kernel="precomputed", C=self.c, epsilon=self.epsilon).fit(self.kernel, y)
            weights = model.dual_coef_[0] @ self.features[model.support_]
            out[b] = -weights / self.patch_scale
        return out


def svr_model(
    patches: np.ndarray,
    patch_voxels: np.ndarray,
    *,
    gamma: float = 5.0,
    c: float = 30.0,
    epsilon: float = 0.1,
    dtlvc: bool = True,
) -> SVRModel:
    """Features and kernel for :class:`SVRModel` from the unique-patch lesion matrix (N × P, 0/1)."""
    scale = np.sqrt(np.asarray(patch_voxels, dtype=np.float64))
    features = np.asarray(patches, dtype=np.float64) * scale
    if dtlvc:
        norms = np.linalg.norm(features, axis=1, keepdims=True)
        features = np.divide(features, norms, out=np.zeros_like(features), where=norms > 0)
    gram = features @ features.T
    squared = np.diag(gram)[:, None] + np.diag(gram)[None, :] - 2 * gram
    kernel = np.exp(-gamma * np.maximum(squared, 0.0))
    return SVRModel(features, kernel, scale, float(c), float(epsilon))
