import numpy as np
import pytest

from lesionkit.cli import main
from lesionkit.io import save_nifti
from lesionkit.report.montage import cohort_montage, plot_montage, slices_through_largest_lesion


def _tiny_case(root, subject, seed, cube):
    rng = np.random.default_rng(seed)
    anat = root / "Training" / "R001" / f"sub-{subject}" / "ses-1" / "anat"
    image = rng.random((24, 28, 22), dtype=np.float32) * 100 + 300
    mask = np.zeros(image.shape, np.uint8)
    mask[cube] = 1
    image[mask == 1] = 50
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    save_nifti(image, anat / f"sub-{subject}_ses-1_space-MNI152NLin2009aSym_T1w.nii.gz", affine)
    save_nifti(mask, anat / f"sub-{subject}_ses-1_space-MNI152NLin2009aSym_label-L_desc-T1lesion_mask.nii.gz",
               affine, dtype=np.uint8)


def test_slices_go_through_the_largest_lesion():
    mask = np.zeros((30, 30, 30), np.uint8)
    mask[2:4, 2:4, 2:4] = 1  # 8 voxels
    mask[10:20, 12:18, 20:26] = 1  # 360 voxels, the largest
    centre, voxels, n = slices_through_largest_lesion(mask)
    assert n == 2 and voxels == 360
    assert mask[centre] == 1 and 10 <= centre[0] < 20 and 20 <= centre[2] < 26


def test_curved_lesion_centre_is_inside_it():
    mask = np.zeros((30, 30, 30), np.uint8)
    mask[5:25, 5:8, 10:14] = 1
    mask[5:8, 5:25, 10:14] = 1  # an L shape whose centroid lies outside it
    centre, _, _ = slices_through_largest_lesion(mask)
    assert mask[centre] == 1


def test_empty_mask_uses_grid_centre():
    assert slices_through_largest_lesion(np.zeros((10, 12, 14), np.uint8)) == ((5, 6, 7), 0, 0)


def test_plot_montage_writes_a_png(tmp_path):
    mask = np.zeros((20, 24, 18), np.uint8)
    mask[8:12, 10:14, 6:10] = 1
    image = np.where(mask, 10.0, 100.0).astype(np.float32)
    out = plot_montage([("sub-a", image, mask, np.eye(4)), ("sub-b", image, np.zeros_like(mask), np.eye(4))],
                       tmp_path / "m.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    pixels = matplotlib.image.imread(out)
    red = (pixels[..., 0] > 0.9) & (pixels[..., 1] < 0.4) & (pixels[..., 2] < 0.4)
    assert red.sum() > 20  # the lesion contour is drawn
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_cohort_montage_and_cli(tmp_path):
    _tiny_case(tmp_path / "c", "r001s001", 0, (slice(5, 12), slice(6, 14), slice(4, 10)))
    _tiny_case(tmp_path / "c", "r001s002", 1, (slice(14, 20), slice(6, 10), slice(12, 18)))
    out = cohort_montage(tmp_path / "c", tmp_path / "m.png", n_subjects=2)
    assert out.stat().st_size > 5_000
    assert main(["montage", str(tmp_path / "c"), "-o", str(tmp_path / "cli.png"), "--subjects", "1"]) == 0
    assert (tmp_path / "cli.png").exists()
    assert main(["montage", str(tmp_path / "c"), "-o", str(tmp_path / "one.png"), "--participant-label",
                 "r001s002"]) == 0
    assert main(["montage", str(tmp_path / "c"), "-o", str(tmp_path / "none.png"), "--participant-label",
                 "nobody"]) == 3
    assert not (tmp_path / "none.png").exists()


def test_montage_cli_refuses_cohort_without_masks(tmp_path):
    anat = tmp_path / "c" / "sub-x" / "anat"
    save_nifti(np.ones((8, 8, 8), np.float32), anat / "sub-x_T1w.nii.gz", np.eye(4))
    assert main(["montage", str(tmp_path / "c"), "-o", str(tmp_path / "m.png")]) == 3
    assert not (tmp_path / "m.png").exists()


@pytest.mark.parametrize("subjects", ["0", "-1"])
def test_montage_cli_rejects_bad_subject_count(tmp_path, subjects):
    assert main(["montage", str(tmp_path), "-o", str(tmp_path / "m.png"), "--subjects", subjects]) == 2
