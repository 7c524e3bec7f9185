import numpy as np

from lesionkit.model.data import _lesion_voxels


def test_lesion_voxels_are_grouped_by_lesion():
    target = np.zeros((20, 20, 20), np.float32)
    target[2:6, 2:6, 2:6] = 1.0  # 64 voxels
    target[15, 15, 15] = 0.3  # a lesion covering under half of one coarse block
    voxels, bounds = _lesion_voxels(target, max_voxels=1000)
    assert bounds.tolist() == [0, 64, 65]
    assert voxels[64].tolist() == [15, 15, 15]  # kept: small lesions must still get crops
    assert (target[tuple(voxels[:64].T)] == 1).all()


def test_lesion_voxels_subsample_large_lesions_but_keep_every_lesion():
    target = np.zeros((30, 30, 30), np.float32)
    target[:20, :20, :20] = 1.0  # 8000 voxels
    target[28, 28, 28] = 1.0
    voxels, bounds = _lesion_voxels(target, max_voxels=100)
    sizes = np.diff(bounds)
    assert len(sizes) == 2 and sizes[1] == 1 and 50 <= sizes[0] <= 100
    assert len(np.unique(voxels[: sizes[0]], axis=0)) == sizes[0]


def test_no_lesion_gives_no_voxels():
    voxels, bounds = _lesion_voxels(np.zeros((5, 5, 5), np.float32), max_voxels=10)
    assert voxels.shape == (0, 3) and bounds.tolist() == [0]
