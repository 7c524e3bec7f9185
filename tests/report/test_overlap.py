import nibabel as nib
import numpy as np
import pytest

from lesionkit.analysis import overlap_maps
from lesionkit.io import InvalidInputError
from lesionkit.report.overlap import OVERLAP_FILES, overlap_report
from tests.metrics._trees import cube, save, truth_tree


def test_folders_are_collected_and_the_maps_written(tmp_path):
    atlas = truth_tree(tmp_path / "atlas", {"r001s001": cube(2, 6), "r001s002": cube(3, 8)})
    extra = save(cube(4, 9), tmp_path / "flat" / "r009s001_mask.nii.gz")
    seen = []
    report = overlap_report([atlas, extra], tmp_path / "out", n_slices=2,
                            progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    expected = cube(2, 6).astype(int) + cube(3, 8) + cube(4, 9)  # independent of overlap_maps
    assert report.n_masks == 3 and report.peak == 3
    assert sorted(report.paths) == sorted(OVERLAP_FILES)
    count = nib.load(report.paths["overlap_count.nii.gz"])
    assert np.array_equal(np.asanyarray(count.dataobj), expected) and count.get_data_dtype() == np.uint16
    np.testing.assert_allclose(nib.load(report.paths["overlap_share.nii.gz"]).get_fdata(), expected / 3, atol=1e-6)
    assert report.paths["overlap.png"].read_bytes()[:4] == b"\x89PNG"


def test_participant_label_and_no_figure(tmp_path):
    atlas = truth_tree(tmp_path / "atlas", {"r001s001": cube(2, 6), "r001s002": cube(3, 8)})
    report = overlap_report([atlas], tmp_path / "out", participant_label=["r001s002"], figure=False)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["overlap_count.nii.gz", "overlap_share.nii.gz"]
    assert report.n_masks == 1 and np.array_equal(np.asanyarray(report.count.dataobj), cube(3, 8))


def test_in_memory_masks_are_taken_as_they_are(tmp_path):
    images = [nib.Nifti1Image(cube(2, 6), np.eye(4)), nib.Nifti1Image(cube(2, 4), np.eye(4))]
    report = overlap_report(images, tmp_path / "out", figure=False)
    count, share = overlap_maps(images)
    assert np.array_equal(np.asanyarray(report.count.dataobj), np.asanyarray(count.dataobj))
    assert np.array_equal(np.asanyarray(report.share.dataobj), np.asanyarray(share.dataobj))


def test_a_bad_mask_writes_nothing(tmp_path):
    atlas = truth_tree(tmp_path / "atlas", {"r001s001": cube(2, 6)})
    odd = save(cube(2, 6, shape=(14, 12, 11)), tmp_path / "odd" / "r009s001_mask.nii.gz")
    with pytest.raises(InvalidInputError, match="r009s001_mask"):
        overlap_report([atlas, odd], tmp_path / "out")
    assert not (tmp_path / "out").exists()
