"""The viewer's lesion list (lesionkit.review.lesions)."""

from __future__ import annotations

import numpy as np

from lesionkit.review.lesions import lesion_table
from tests.review._folders import lesion_mask, oblique_affine


def test_lesions_largest_first_with_world_coordinates():
    mask = lesion_mask(0)
    affine = oblique_affine()
    rows = lesion_table(mask, affine)
    voxel_mm3 = abs(np.linalg.det(affine[:3, :3]))
    assert [r["voxels"] for r in rows] == [6 * 7 * 5, 8] and [r["index"] for r in rows] == [1, 2]
    assert np.isclose(rows[0]["volume_mm3"], 210 * voxel_mm3, atol=0.1)
    for row in rows:
        assert mask[tuple(row["voxel"])] == 1
        assert np.allclose(row["mm"], affine[:3, :3] @ row["voxel"] + affine[:3, 3], atol=0.01)


def test_the_jump_point_of_a_crescent_lies_on_it():
    yy, xx = np.mgrid[:21, :21]
    ring = ((xx - 10) ** 2 + (yy - 10) ** 2 <= 81) & ((xx - 10) ** 2 + (yy - 10) ** 2 >= 49) & (xx <= 12)
    mask = np.repeat(ring[:, :, None], 3, axis=2).astype(np.uint8)
    (row,) = lesion_table(mask, np.eye(4))
    assert mask[tuple(row["voxel"])] == 1  # the centroid itself is in the hole


def test_an_empty_mask_has_no_lesions_and_the_list_is_capped():
    assert lesion_table(np.zeros((4, 4, 4)), np.eye(4)) == []
    specks = np.zeros((9, 9, 9), np.uint8)
    specks[::2, ::2, ::2] = 1
    assert len(lesion_table(specks, np.eye(4), limit=10)) == 10
