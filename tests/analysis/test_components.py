import numpy as np
import pytest
from scipy import ndimage as ndi

from lesionkit.analysis.components import bounding_box, label_lesions, voxel_volume


def test_matches_scipy_six_connectivity(rng):
    mask = rng.random((18, 20, 22)) > 0.7
    labels, count = label_lesions(mask)
    reference, expected = ndi.label(mask)  # scipy's default 3-D structure = face neighbours
    assert count == expected
    # the same partition: each of our labels maps to exactly one scipy label and back
    pairs = {(int(a), int(b)) for a, b in zip(labels[mask], reference[mask], strict=True)}
    assert len(pairs) == count == len({a for a, _ in pairs}) == len({b for _, b in pairs})


def test_edge_contact_makes_two_lesions_and_numbering_is_by_size():
    mask = np.zeros((10, 10, 10), bool)
    mask[1:3, 1:3, 1:3] = True  # 8 voxels
    mask[3, 3, 1] = True  # touches the cube only along an edge: a separate lesion
    mask[5:9, 5:9, 5:9] = True  # 64 voxels
    labels, count = label_lesions(mask)
    assert count == 3
    assert [int((labels == i).sum()) for i in (1, 2, 3)] == [64, 8, 1]


def test_min_size_in_mm3_uses_the_voxel_volume():
    mask = np.zeros((10, 10, 10), bool)
    mask[0:2, 0:2, 0:2] = True  # 8 voxels = 64 mm³ at 2 mm
    mask[5, 5, 5] = True  # 1 voxel = 8 mm³
    labels, count = label_lesions(mask, voxel_mm3=8.0, min_size_mm3=10.0)
    assert count == 1 and int((labels > 0).sum()) == 8
    assert label_lesions(mask, voxel_mm3=8.0, min_size_mm3=64.0)[1] == 1
    assert label_lesions(mask, voxel_mm3=8.0, min_size_mm3=64.1)[1] == 0


def test_empty_mask_and_bad_shape():
    labels, count = label_lesions(np.zeros((4, 4, 4), np.uint8))
    assert count == 0 and not labels.any()
    with pytest.raises(ValueError, match="3-D"):
        label_lesions(np.zeros((4, 4), np.uint8))


def test_voxel_volume_from_affine():
    affine = np.diag([2.0, 1.5, 3.0, 1.0])
    assert voxel_volume(affine) == pytest.approx(9.0)
    rotated = affine.copy()
    c, s = np.cos(0.3), np.sin(0.3)
    rotated[:3, :3] = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ affine[:3, :3]
    assert voxel_volume(rotated) == pytest.approx(9.0)


def test_voxel_volume_is_exact_on_axis_aligned_grids():
    for size in (2.0, 3.0, 0.9375):
        assert voxel_volume(np.diag([size, size, size, 1.0])) == size**3
    assert 27 * voxel_volume(np.diag([2.0, 2.0, 2.0, 1.0])) == 216.0


def test_bounding_box_and_labels_outside_it_stay_zero():
    mask = np.zeros((12, 10, 8), bool)
    assert bounding_box(mask) is None
    mask[2, 3, 4] = mask[5, 7, 4] = True
    assert bounding_box(mask) == (slice(2, 6), slice(3, 8), slice(4, 5))
    labels, count = label_lesions(mask)
    assert count == 2 and labels.shape == mask.shape and set(np.unique(labels[~mask])) == {0}
