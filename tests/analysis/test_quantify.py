import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from scipy import ndimage as ndi

from lesionkit.analysis.location import anatomy
from lesionkit.analysis.quantify import (
    LESION_COLUMNS,
    grid_step,
    hemisphere_class,
    quantify_lesions,
    summarize_subjects,
)
from lesionkit.io import ATLAS_AFFINE, InvalidInputError

AFFINE_2MM = ATLAS_AFFINE.copy()
AFFINE_2MM[:3, :3] *= 2
SHAPE_2MM = (99, 117, 95)


def _cube_inside(region: np.ndarray, away_from: np.ndarray | None = None) -> tuple[slice, ...]:
    """A 3×3×3 cube (2 mm voxels) lying wholly inside ``region``."""
    core = ndi.binary_erosion(region, structure=np.ones((3, 3, 3), bool))
    if away_from is not None:
        core &= ~ndi.binary_dilation(away_from, iterations=3)
    i, j, k = np.argwhere(core)[len(np.argwhere(core)) // 2]
    return (slice(i - 1, i + 2), slice(j - 1, j + 2), slice(k - 1, k + 2))


def test_one_lesion_per_rule_on_a_2mm_grid():
    maps = anatomy(2)
    x = AFFINE_2MM[0, 0] * np.arange(SHAPE_2MM[0]) + AFFINE_2MM[0, 3]
    left = np.broadcast_to((x < -4)[:, None, None], SHAPE_2MM)
    right = np.broadcast_to((x > 4)[:, None, None], SHAPE_2MM)
    brain = maps.territory > 0
    mask = np.zeros(SHAPE_2MM, np.uint8)
    cortical = _cube_inside(maps.cortex & left)
    other = _cube_inside(maps.infratentorial & right)
    deep = _cube_inside(brain & ~maps.cortex & ~maps.infratentorial & left, away_from=maps.cortex)
    for box in (cortical, other, deep):
        mask[box] = 1
    table = quantify_lesions(mask, AFFINE_2MM, "sub-01", "1")
    assert list(table.columns) == list(LESION_COLUMNS) and len(table) == 3
    assert (table["volume_mm3"] == 27 * 8.0).all() and (table["n_voxels"] == 27).all()
    by_place = {row.location: row for row in table.itertuples()}
    assert set(by_place) == {"cortical", "subcortical", "other"}
    assert by_place["cortical"].cortex_share == 1.0 and by_place["cortical"].hemisphere == "left"
    assert by_place["other"].infratentorial_share == 1.0 and by_place["other"].hemisphere == "right"
    assert by_place["subcortical"].cortex_share == 0.0
    # centroid = the cube's centre voxel in MNI mm
    centre = [s.start + 1 for s in other]
    assert [by_place["other"].centroid_x, by_place["other"].centroid_y, by_place["other"].centroid_z] == \
        pytest.approx(AFFINE_2MM[:3, :3] @ centre + AFFINE_2MM[:3, 3])
    shares = table[[c for c in table.columns if c.startswith("territory_")]].sum(axis=1)
    assert np.allclose(shares, 1.0, atol=1e-3)
    assert all(row.territory == "none" or row.territory.startswith(("ACA", "MCA", "PCA", "MLS", "LLS", "ACTP",
                                                                   "PCTP", "B", "SC", "IC"))
               for row in table.itertuples())


def test_empty_mask_gives_no_rows_and_a_none_subject():
    table = quantify_lesions(np.zeros(SHAPE_2MM, np.uint8), AFFINE_2MM, "sub-02")
    assert table.empty and list(table.columns) == list(LESION_COLUMNS)
    subjects = summarize_subjects(table, [("sub-02", "")])
    assert subjects.iloc[0][["n_lesions", "total_volume_mm3", "hemisphere_class"]].tolist() == [0, 0.0, "none"]


@pytest.mark.parametrize(("sides", "places", "expected"), [
    (["left"], ["cortical"], "left"),
    (["right"], ["subcortical"], "right"),
    (["left"], ["other"], "other"),
    (["left", "left"], ["cortical", "subcortical"], "unilateral"),
    (["left", "right"], ["subcortical", "subcortical"], "bilateral"),
    (["left", "left", "right"], ["cortical", "subcortical", "other"], "other"),
    ([], [], "none"),
])
def test_atlas_hemisphere_class(sides, places, expected):
    assert hemisphere_class(sides, places) == expected


def test_summarize_subjects_counts_and_totals():
    lesions = pd.DataFrame({
        "subject": ["sub-a", "sub-a", "sub-b"], "session": ["", "", ""], "volume_mm3": [10.0, 5.0, 7.0],
        "hemisphere": ["left", "right", "left"], "location": ["cortical", "other", "subcortical"],
    })
    table = summarize_subjects(lesions, [("sub-b", ""), ("sub-a", "")]).set_index("subject")
    assert list(table.index) == ["sub-b", "sub-a"]  # the order given
    assert table.loc["sub-a", "total_volume_mm3"] == 15.0 and table.loc["sub-a", "n_lesions"] == 2
    assert table.loc["sub-a", "hemisphere_class"] == "other"
    assert table.loc["sub-a", ["n_cortical", "n_subcortical", "n_other"]].tolist() == [1, 0, 1]
    assert table.loc["sub-b", "hemisphere_class"] == "left"


def test_grid_step_refuses_other_grids():
    assert grid_step(nib.Nifti1Image(np.zeros(SHAPE_2MM, np.uint8), AFFINE_2MM)) == 2
    with pytest.raises(InvalidInputError, match="not on the ATLAS"):
        grid_step(nib.Nifti1Image(np.zeros((20, 20, 20), np.uint8), np.eye(4)), "native.nii.gz")
    with pytest.raises(ValueError, match="not on the ATLAS grid"):
        quantify_lesions(np.zeros((20, 20, 20), np.uint8), np.eye(4), "sub-x")


def test_specks_are_reported_apart_and_volume_counts_every_voxel():
    """Components under 10 mm³ (default) are not lesions: no row, no class, but counted in the volume."""
    from lesionkit.analysis.quantify import MIN_LESION_MM3, speck_summary

    maps = anatomy(2)
    x = AFFINE_2MM[0, 0] * np.arange(SHAPE_2MM[0]) + AFFINE_2MM[0, 3]
    left = np.broadcast_to((x < -4)[:, None, None], SHAPE_2MM)
    right = np.broadcast_to((x > 4)[:, None, None], SHAPE_2MM)
    brain = maps.territory > 0
    mask = np.zeros(SHAPE_2MM, np.uint8)
    mask[_cube_inside(brain & ~maps.infratentorial & left)] = 1  # 216 mm³, left
    i, j, k = np.argwhere(brain & ~maps.infratentorial & right)[100]
    mask[i, j, k] = 1  # one 8 mm³ voxel in the right hemisphere: tracing debris
    assert MIN_LESION_MM3 == 10.0
    table = quantify_lesions(mask, AFFINE_2MM, "sub-01")
    assert len(table) == 1 and table.iloc[0]["hemisphere"] == "left"
    assert speck_summary(mask.astype(bool), 8.0) == (1, 8.0)
    subjects = summarize_subjects(table, [("sub-01", "")], {("sub-01", ""): speck_summary(mask, 8.0)})
    row = subjects.iloc[0]
    assert row["n_lesions"] == 1 and row["hemisphere_class"] == "left"  # not "bilateral"
    assert row["n_specks"] == 1 and row["speck_volume_mm3"] == 8.0
    assert row["total_volume_mm3"] == 216.0 + 8.0 == mask.sum() * 8.0
    # min size 0 counts every component as a lesion
    everything = quantify_lesions(mask, AFFINE_2MM, "sub-01", min_size_mm3=0.0)
    assert len(everything) == 2 and speck_summary(mask, 8.0, 0.0) == (0, 0.0)
    assert summarize_subjects(everything, [("sub-01", "")]).iloc[0]["hemisphere_class"] == "bilateral"
