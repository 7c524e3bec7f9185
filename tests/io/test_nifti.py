import gzip

import nibabel as nib
import numpy as np
import pytest

from lesionkit.io import (
    InvalidInputError,
    binarize_mask,
    check_same_grid,
    ensure_3d,
    load_image,
    load_mask,
    load_nifti,
    save_nifti,
)
from tests.conftest import make_image, make_mask


def test_round_trip_keeps_affine_and_dtype(tmp_path):
    affine = np.array([[0.9, 0.1, 0, -10], [0, 0.9, 0, 5], [0, 0, 3.0, 2], [0, 0, 0, 1]])
    path = save_nifti(make_mask(affine=affine), tmp_path / "m.nii.gz")
    back = load_mask(path)
    assert np.allclose(back.affine, affine)
    assert back.get_data_dtype() == np.uint8
    assert np.asanyarray(back.dataobj).sum() == 6**3
    assert back.get_filename() == str(path)


def test_singleton_fourth_axis_is_squeezed(tmp_path):
    img = make_image()
    path = tmp_path / "t1.nii.gz"
    nib.save(nib.Nifti1Image(img.get_fdata()[..., None].astype(np.float32), img.affine), path)
    assert load_image(path).shape == (20, 20, 20)


def test_four_d_volume_is_refused(tmp_path):
    path = tmp_path / "t1.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4, 2), np.float32), np.eye(4)), path)
    with pytest.raises(InvalidInputError, match=r"t1\.nii\.gz.*3-D.*\(4, 4, 4, 2\)"):
        load_image(path)


def test_two_d_is_refused(tmp_path):
    path = tmp_path / "flat.nii"
    nib.save(nib.Nifti1Image(np.zeros((4, 4), np.float32), np.eye(4)), path)
    with pytest.raises(InvalidInputError, match="3-D"):
        load_nifti(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(InvalidInputError, match=r"nope\.nii\.gz: file does not exist"):
        load_image(tmp_path / "nope.nii.gz")


def test_nan_is_refused(tmp_path):
    data = np.ones((5, 5, 5), np.float32)
    data[1, 2, 3] = np.nan
    data[0, 0, 0] = np.inf
    path = save_nifti(data, tmp_path / "nan.nii.gz", affine=np.eye(4))
    with pytest.raises(InvalidInputError, match=r"nan\.nii\.gz: contains 2 NaN"):
        load_image(path)


def test_truncated_gzip_is_refused(tmp_path):
    path = save_nifti(make_image(shape=(30, 30, 30)), tmp_path / "t1.nii.gz")
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InvalidInputError, match="truncated or corrupt"):
        load_image(path)


def test_garbage_file_is_refused(tmp_path):
    path = tmp_path / "junk.nii.gz"
    path.write_bytes(gzip.compress(b"not a nifti at all"))
    with pytest.raises(InvalidInputError, match=r"junk\.nii\.gz"):
        load_nifti(path)


@pytest.mark.parametrize("values, expected", [((0, 1), 1), ((0, 255), 1), ((0.0, 1.0), 1)])
def test_binary_masks_accepted(values, expected):
    data = np.array(values * 4).reshape(2, 2, 2)
    out = binarize_mask(data)
    assert out.dtype == np.uint8 and out.max() == expected and out.sum() == 4


@pytest.mark.parametrize("values", [(0, 1, 2), (0, 0.5, 1), (0, 254), (0, 1, -1)])
def test_non_binary_masks_refused(values, tmp_path):
    data = np.resize(np.array(values, np.float32), (3, 3, 3))
    path = save_nifti(data, tmp_path / "bad_mask.nii.gz", affine=np.eye(4))
    with pytest.raises(InvalidInputError, match=r"bad_mask\.nii\.gz: mask is not binary"):
        load_mask(path)


def test_mask_with_nan_refused():
    data = np.zeros((2, 2, 2), np.float32)
    data[0, 0, 0] = np.nan
    with pytest.raises(InvalidInputError, match="NaN"):
        binarize_mask(data)


def test_grid_mismatch_names_both_files(tmp_path):
    a = load_image(save_nifti(make_image(), tmp_path / "t1.nii.gz"))
    shifted = np.eye(4)
    shifted[0, 3] = 0.01
    b = load_mask(save_nifti(make_mask(affine=shifted), tmp_path / "mask.nii.gz"))
    with pytest.raises(InvalidInputError, match=r"mask\.nii\.gz: affine differs from that of .*t1\.nii\.gz"):
        check_same_grid(a, b)
    c = load_mask(save_nifti(make_mask(shape=(20, 20, 21)), tmp_path / "other.nii.gz"))
    with pytest.raises(InvalidInputError, match=r"other\.nii\.gz: grid shape \(20, 20, 21\) differs"):
        load_mask(c.get_filename(), reference=a)


def test_tiny_affine_difference_is_tolerated(tmp_path):
    a = load_image(save_nifti(make_image(), tmp_path / "t1.nii.gz"))
    near = np.eye(4)
    near[0, 3] = 1e-4
    check_same_grid(a, load_mask(save_nifti(make_mask(affine=near), tmp_path / "m.nii.gz")))


def test_save_is_atomic_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "out.nii.gz"

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(nib, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        save_nifti(make_image(), target)
    assert list(tmp_path.iterdir()) == []


def test_save_requires_affine_for_arrays(tmp_path):
    with pytest.raises(ValueError, match="affine"):
        save_nifti(np.zeros((2, 2, 2)), tmp_path / "x.nii.gz")


def test_ensure_3d_on_in_memory_images():
    img = nib.Nifti1Image(np.zeros((3, 4, 5, 1), np.float32), np.eye(4))
    assert ensure_3d(img).shape == (3, 4, 5)
    with pytest.raises(InvalidInputError, match="<in-memory image>: expected a 3-D volume"):
        ensure_3d(nib.Nifti1Image(np.zeros((3, 4, 5, 2), np.float32), np.eye(4)))


def _header_only(path, shape, dtype=np.uint8, compress=True):
    """A NIfTI header claiming ``shape`` with no data after it (a few dozen bytes gzipped)."""
    header = nib.Nifti1Header()
    header.set_data_shape(shape)
    header.set_data_dtype(dtype)
    raw = header.binaryblock + b"\0" * 4
    path.write_bytes(gzip.compress(raw, mtime=0) if compress else raw)
    return path


def test_header_claims_are_compared_with_the_file_before_allocating(tmp_path):
    from lesionkit.io import check_nifti_size

    bomb = _header_only(tmp_path / "bomb.nii.gz", (1024, 1024, 1024))
    assert bomb.stat().st_size < 100
    claim = r"bomb\.nii\.gz: its header claims a 1024×1024×1024 uint8 volume \(1,073,741,824 bytes\), more than"
    with pytest.raises(InvalidInputError, match=claim + r" a gzip file of \d+ bytes can hold"):
        load_mask(bomb)
    short = _header_only(tmp_path / "short.nii", (20, 20, 20), np.float32, compress=False)
    with pytest.raises(InvalidInputError, match="but the file holds 352 bytes"):
        load_image(short)
    good = save_nifti(make_image(), tmp_path / "t1.nii.gz")
    assert check_nifti_size(good) == 20**3 * 4
    with pytest.raises(InvalidInputError, match="more than the limit of 1,000 bytes"):
        load_image(good, max_bytes=1000)


def test_an_all_zero_mask_compresses_within_the_bound(tmp_path):
    from lesionkit.io import check_nifti_size

    raw = nib.Nifti1Image(np.zeros((197, 233, 189), np.uint8), np.eye(4)).to_bytes()
    path = tmp_path / "empty.nii.gz"
    path.write_bytes(gzip.compress(raw, compresslevel=9))
    assert len(raw) / path.stat().st_size > 1000  # gzip's best case, close to the bound of 1100
    assert check_nifti_size(path) == 197 * 233 * 189
    assert load_mask(path).shape == (197, 233, 189)


def test_rgb_complex_and_empty_volumes_are_refused(tmp_path):
    rgb = np.zeros((6, 6, 6), dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])
    nib.save(nib.Nifti1Image(rgb, np.eye(4)), tmp_path / "rgb.nii.gz")
    with pytest.raises(InvalidInputError, match=r"rgb\.nii\.gz: voxel type .* is not a scalar intensity"):
        load_mask(tmp_path / "rgb.nii.gz")
    with pytest.raises(InvalidInputError, match="not a scalar intensity"):
        binarize_mask(rgb)
    with pytest.raises(InvalidInputError, match="not a scalar intensity"):
        load_image(save_nifti(np.zeros((4, 4, 4), np.complex64), tmp_path / "c.nii.gz", np.eye(4)))
    with pytest.raises(InvalidInputError, match="empty"):
        binarize_mask(np.zeros((0, 4, 4), np.uint8))


def test_validate_volume_is_the_one_definition(tmp_path):
    from lesionkit.io import validate_volume

    data = np.zeros((5, 6, 7, 1), np.uint8)
    data[1, 1, 1] = 255
    mask = validate_volume(data, np.eye(4), "m", "mask")
    assert mask.shape == (5, 6, 7) and mask.dtype == np.uint8 and mask.sum() == 1
    assert validate_volume(data, np.eye(4), kind="image").dtype == np.float32
    for affine, problem in ((np.full((4, 4), np.nan), "NaN or inf"), (np.zeros((4, 4)), "singular"),
                            (np.eye(3), "4×4")):
        with pytest.raises(InvalidInputError, match=problem):
            validate_volume(data, affine, "x")
    with pytest.raises(InvalidInputError, match=r"<in-memory image>: the volume is empty"):
        validate_volume(np.zeros((0, 3, 3)), np.eye(4))
    with pytest.raises(InvalidInputError, match="probability map has values from -50 to 100"):
        validate_volume(np.array([-50.0, 100.0]).reshape(1, 1, 2), np.eye(4), kind="probability")


def test_probability_maps_must_be_within_0_and_1(tmp_path):
    from lesionkit.io import load_probability

    ok = save_nifti(np.linspace(0, 1, 27, dtype=np.float32).reshape(3, 3, 3), tmp_path / "p.nii.gz", np.eye(4))
    assert float(np.asarray(load_probability(ok).dataobj).max()) == 1.0
    bad = save_nifti(np.full((3, 3, 3), 1.5, np.float32), tmp_path / "q.nii.gz", np.eye(4))
    with pytest.raises(InvalidInputError, match=r"q\.nii\.gz: probability map has values from 1.5 to 1.5"):
        load_probability(bad)


def test_check_scan_refuses_slices_and_constant_images():
    from lesionkit.io import check_scan

    check_scan(make_image())
    with pytest.raises(InvalidInputError, match=r"shape \(20, 20, 1\) is a slice"):
        check_scan(nib.Nifti1Image(np.ones((20, 20, 1), np.float32), np.eye(4)))
    with pytest.raises(InvalidInputError, match="constant"):
        check_scan(nib.Nifti1Image(np.ones((20, 20, 20), np.float32), np.eye(4)))


def test_permission_and_memory_errors_are_named_as_such(tmp_path, monkeypatch):
    path = save_nifti(make_image(), tmp_path / "t1.nii.gz")

    def no_memory(self, *args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(nib.arrayproxy.ArrayProxy, "__array__", no_memory)
    with pytest.raises(InvalidInputError, match=r"t1\.nii\.gz: not enough memory to read its 32,000-byte volume"):
        load_image(path)
    monkeypatch.undo()

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(nib, "load", denied)
    with pytest.raises(InvalidInputError, match=r"t1\.nii\.gz: cannot read the file: permission denied"):
        load_image(path)
