import numpy as np
import pytest
from scipy import ndimage as ndi

from lesionkit.core.components import label_components, label_lesions, largest_component, remove_small_lesions


@pytest.mark.parametrize("shape", [(40,), (25, 31), (18, 20, 22)])
def test_labels_equal_scipy_face_connectivity_in_raster_order(rng, shape):
    """scipy's default structure is the face-neighbour cross in every dimension (an independent reference)."""
    for density in (0.3, 0.55):
        mask = rng.random(shape) < density
        reference, expected = ndi.label(mask)
        for layout in (mask, np.asfortranarray(mask), mask.astype(np.uint8) * 7):
            labels, count = label_components(layout)
            assert count == expected
            np.testing.assert_array_equal(labels, reference)  # same numbering, whatever the memory layout


def test_edge_and_corner_contacts_are_separate_lesions():
    mask = np.zeros((6, 6, 6), bool)
    mask[1, 1, 1] = mask[2, 2, 1] = True  # edge contact
    mask[4, 4, 4] = mask[5, 5, 5] = True  # corner contact
    mask[1, 4, 1] = mask[1, 4, 2] = True  # face contact: one lesion
    assert label_components(mask)[1] == 5


def test_empty_and_unsupported_masks():
    labels, count = label_components(np.zeros((4, 5, 6), np.uint8))
    assert count == 0 and labels.shape == (4, 5, 6) and not labels.any()
    assert label_components(np.zeros((0, 3), bool))[1] == 0
    with pytest.raises(ValueError, match="1-, 2- or 3-D"):
        label_components(np.zeros((2, 2, 2, 2), bool))


def test_lesions_are_numbered_by_size_with_ties_in_raster_order():
    mask = np.zeros((10, 10, 10), bool)
    mask[1:3, 1:3, 1:3] = True  # 8 voxels
    mask[3, 3, 1] = True  # touches the cube only along an edge: a separate lesion
    mask[5:9, 5:9, 5:9] = True  # 64 voxels
    mask[0, 9, 9] = mask[9, 0, 0] = True  # two single voxels: the first in raster order comes first
    labels, count = label_lesions(np.asfortranarray(mask))
    assert count == 5
    assert [int((labels == i).sum()) for i in range(1, 6)] == [64, 8, 1, 1, 1]
    assert (labels[0, 9, 9], labels[3, 3, 1], labels[9, 0, 0]) == (3, 4, 5)
    assert labels.dtype == np.uint32 and set(np.unique(labels[~mask])) == {0}


def test_lesion_labels_match_scipy_partition(rng):
    mask = rng.random((18, 20, 22)) > 0.7
    labels, count = label_lesions(mask)
    reference, expected = ndi.label(mask)
    assert count == expected
    pairs = {(int(a), int(b)) for a, b in zip(labels[mask], reference[mask], strict=True)}
    assert len(pairs) == count == len({a for a, _ in pairs}) == len({b for _, b in pairs})


def test_min_size_in_mm3_uses_the_voxel_volume():
    mask = np.zeros((10, 10, 10), bool)
    mask[0:2, 0:2, 0:2] = True  # 8 voxels = 64 mm³ at 2 mm
    mask[5, 5, 5] = True  # 1 voxel = 8 mm³
    labels, count = label_lesions(mask, voxel_mm3=8.0, min_size_mm3=10.0)
    assert count == 1 and int((labels > 0).sum()) == 8
    assert label_lesions(mask, voxel_mm3=8.0, min_size_mm3=64.0)[1] == 1  # the limit itself is kept
    assert label_lesions(mask, voxel_mm3=8.0, min_size_mm3=64.1)[1] == 0
    assert 8 * (30 / 8) == 30 and 11 * (30 / 11) < 30  # a limit of n voxels × their volume may round below
    eleven = np.zeros((13, 1, 1), bool)
    eleven[:11] = True
    assert label_lesions(eleven, voxel_mm3=30 / 11, min_size_mm3=30.0)[1] == 1


def test_label_lesions_refuses_non_volumes_and_handles_empty():
    labels, count = label_lesions(np.zeros((4, 4, 4), np.uint8))
    assert count == 0 and not labels.any()
    with pytest.raises(ValueError, match="3-D"):
        label_lesions(np.zeros((4, 4), np.uint8))


def test_remove_small_lesions():
    mask = np.zeros((12, 12, 12), np.uint8)
    mask[1:7, 1:7, 1:7] = 1  # 216 voxels
    mask[10, 10, 10] = 1
    mask[10, 1, 1:3] = 1  # 2 voxels
    assert remove_small_lesions(mask, 0.0).sum() == 219
    assert remove_small_lesions(mask, 2.0).sum() == 218
    assert remove_small_lesions(mask, 2.0, voxel_mm3=2.0).sum() == 219  # one voxel is 2 mm³ already
    kept = remove_small_lesions(mask, 216.0)
    assert kept.dtype == bool and kept.sum() == 216 and kept[3, 3, 3]


def test_largest_component():
    mask = np.zeros((8, 8, 8), bool)
    mask[0:2, 0:2, 0:2] = True
    mask[5:8, 5:8, 5] = True  # 9 voxels, the largest
    assert largest_component(mask).sum() == 9 and largest_component(mask)[6, 6, 5]
    tie = np.zeros((5, 5, 5), bool)
    tie[4, 4, 4] = tie[0, 0, 0] = True
    np.testing.assert_array_equal(np.argwhere(largest_component(tie)), [[0, 0, 0]])  # first in raster order
    assert not largest_component(np.zeros((3, 3, 3), bool)).any()
