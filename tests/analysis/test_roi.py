import nibabel as nib
import numpy as np
import pytest

from lesionkit.analysis.roi import (
    Atlas,
    builtin_atlas,
    cst_lesion_load,
    load_atlas,
    load_label_table,
    read_cst,
    roi_load,
)
from lesionkit.io import ATLAS_SHAPE, InvalidInputError


def _atlas() -> Atlas:
    labels = np.zeros((4, 4, 4), np.uint8)
    labels[:2] = 1  # 32 voxels
    labels[2:, :2] = 2  # 16 voxels
    return Atlas("toy", labels, {1: "front", 2: "back", 3: "absent"}, np.eye(4))


def test_roi_load_by_hand():
    mask = np.zeros((4, 4, 4), np.uint8)
    mask[1, 0, 0:4] = 1  # 4 voxels in ROI 1
    mask[2, 3, 0:2] = 1  # 2 voxels in no ROI
    table = roi_load(mask, _atlas(), voxel_mm3=2.0)
    rows = table.set_index("roi")
    assert list(table.columns) == ["atlas", "roi", "overlap_mm3", "roi_percent", "lesion_percent"]
    assert rows.loc["front", "overlap_mm3"] == 8.0
    assert rows.loc["front", "roi_percent"] == pytest.approx(100 * 4 / 32)
    assert rows.loc["front", "lesion_percent"] == pytest.approx(100 * 4 / 6)
    assert rows.loc["back", "overlap_mm3"] == 0.0
    assert rows.loc["absent", "roi_percent"] == 0.0  # an ROI with no voxel: no division by zero


def test_cst_weighted_load_on_a_hand_made_tract():
    affine = np.diag([2.0, 2.0, 3.0, 1.0])  # 4 mm² per voxel in-plane, 3 mm slices
    tract = np.zeros((6, 6, 4), bool)
    tract[0:2, 0:2, 0] = True  # 16 mm²: the widest slice
    tract[0:2, 0, 1] = True  # 8 mm²: weight 2
    tract[0, 0, 2] = True  # 4 mm²: weight 4
    mask = np.zeros((6, 6, 4), bool)
    mask[0, 0, 0:3] = True  # one tract voxel in each tract slice
    mask[5, 5, :] = True  # outside the tract: no load
    load = cst_lesion_load(mask, tract, affine)
    assert load["weighted_cst_load_mm3"] == pytest.approx((4 * 1 + 4 * 2 + 4 * 4) * 3)
    assert load["cst_overlap_mm3"] == pytest.approx(3 * 12)
    assert load["cst_percent"] == pytest.approx(100 * 3 / 7)


def test_label_table_formats(tmp_path):
    tsv = tmp_path / "a.tsv"
    tsv.write_text("index\tname\n1\tleft thing\n2\tright\n")
    csv = tmp_path / "a.csv"
    csv.write_text("# comment\n1,left thing\n2,right\n")
    txt = tmp_path / "a.txt"
    txt.write_text("0 background\n1 left thing\n2 right\n")
    for path in (tsv, csv, txt):
        assert load_label_table(path) == {1: "left thing", 2: "right"}
    bad = tmp_path / "bad.txt"
    bad.write_text("1 a\nzzz\n")
    with pytest.raises(InvalidInputError, match="line 2"):
        load_label_table(bad)
    twice = tmp_path / "twice.txt"
    twice.write_text("1 a\n1 b\n")
    with pytest.raises(InvalidInputError, match="twice"):
        load_label_table(twice)
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_label_table(tmp_path / "missing.tsv")


def test_user_atlas_grid_and_values_are_checked(tmp_path):
    reference = nib.Nifti1Image(np.zeros((4, 4, 4), np.uint8), np.eye(4))
    table = tmp_path / "labels.txt"
    table.write_text("1 one\n")
    good = tmp_path / "atlas.nii.gz"
    nib.save(nib.Nifti1Image(np.pad(np.ones((2, 2, 2), np.int16), ((0, 2),) * 3) * np.int16(5), np.eye(4)), good)
    atlas = load_atlas(good, table, reference)
    assert atlas.names == {1: "one", 5: "5"}  # labels missing from the table are named by number
    shifted = tmp_path / "shifted.nii.gz"
    moved = np.eye(4)
    moved[0, 3] = 2.0
    nib.save(nib.Nifti1Image(np.ones((4, 4, 4), np.int16), moved), shifted)
    with pytest.raises(InvalidInputError, match="affine differs"):
        load_atlas(shifted, table, reference)
    fractional = tmp_path / "prob.nii.gz"
    nib.save(nib.Nifti1Image(np.full((4, 4, 4), 0.5, np.float32), np.eye(4)), fractional)
    with pytest.raises(InvalidInputError, match="integers"):
        load_atlas(fractional, table, reference)


def test_read_cst_thresholds_and_refuses_empty(tmp_path):
    reference = nib.Nifti1Image(np.zeros((4, 4, 4), np.uint8), np.eye(4))
    prob = np.zeros((4, 4, 4), np.float32)
    prob[1, 1, :] = [0.2, 0.6, 0.9, 0.4]
    path = tmp_path / "cst.nii.gz"
    nib.save(nib.Nifti1Image(prob, np.eye(4)), path)
    assert int(read_cst(path, reference).sum()) == 2
    with pytest.raises(InvalidInputError, match="no voxel above"):
        read_cst(path, reference, threshold=0.95)


def test_builtin_atlases_agree_level_by_level():
    level1, level2 = builtin_atlas(1), builtin_atlas(2)
    assert level1.labels.shape == level2.labels.shape == ATLAS_SHAPE
    assert len(level1.names) == 30 and list(level2.names.values())[:2] == ["ACAL", "ACAR"]
    # level 2 merges level 1: labelled in one level <=> labelled in the other, same side, same artery
    assert np.array_equal(level1.labels > 0, level2.labels > 0)
    assert np.all(level2.labels[level1.labels == 7] == 3)  # MCAFL -> MCAL
    assert np.all(level2.labels[level1.labels == 26] == 8)  # BR -> VBR
    coarse = builtin_atlas(2, step=2)
    assert coarse.labels.shape == (99, 117, 95) and coarse.affine[0, 0] == 2.0
    with pytest.raises(ValueError, match="levels 1 and 2"):
        builtin_atlas(3)
