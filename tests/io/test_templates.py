import numpy as np
import pytest

from lesionkit.io import (
    ATLAS_AFFINE,
    ATLAS_SHAPE,
    atlas_step,
    is_atlas_grid,
    load_template,
    load_territories,
    territory_names,
)
from lesionkit.io.templates import TERRITORY_CLASSES


def test_template_on_atlas_grid():
    for kind in ("t1", "gm", "wm"):
        img = load_template(kind)
        assert img.shape == ATLAS_SHAPE and np.allclose(img.affine, ATLAS_AFFINE)
        data = np.asanyarray(img.dataobj)
        assert data.dtype == np.float32 and 0 <= data.min() and data.max() <= 1
    assert is_atlas_grid(load_template())


#: sha256 of the decoded voxels (uint8 levels 0..255, C order) of the MNI ICBM152 2009a files nilearn ships
#: (mni_icbm152_{kind}_tal_nlin_sym_09a_converted.nii.gz): the template's identity, whatever nilearn's release,
#: file layout or rounding of the division by 255.
TEMPLATE_LEVELS_SHA256 = {
    "t1": "a42242e3dc051f80e18cf23eb12618a6f09ff951defa2d1e9687d8dcb8810bbf",
    "gm": "31aecb7be828c1bfb9ff518f94fe76c463e4ec834ac96c2de3449ec2122711f5",
    "wm": "b0a50397bf25b0f407ca29e2cfefa2f49f094d06bc0aa2722f2f0b72fcd9b645",
}


def test_template_is_the_shipped_file_unresampled():
    """nilearn's loader must give the shipped 1 mm file's own voxels (scaled to [0, 1]), never a resampling:
    every value is one of the file's 256 levels (a resampling interpolates between them), and the levels are
    the 2009a template's, voxel for voxel."""
    import hashlib

    for kind, digest in TEMPLATE_LEVELS_SHA256.items():
        data = np.asanyarray(load_template(kind).dataobj)
        levels = data.astype(np.float64) * 255.0
        assert np.abs(levels - np.rint(levels)).max() < 1e-3, f"{kind}: not the file's levels (resampled?)"
        assert hashlib.sha256(np.rint(levels).astype(np.uint8).tobytes()).hexdigest() == digest, kind
        assert not data.flags.writeable
    with pytest.raises(ValueError, match="unknown template"):
        load_template("csf")


def test_territories_cover_the_brain_and_are_lateralised():
    labels = np.asanyarray(load_territories().dataobj)
    names = territory_names()
    assert labels.shape == ATLAS_SHAPE and set(np.unique(labels)) == set(range(31))
    assert len(names) == 30
    brain = np.asanyarray(load_template("t1").dataobj) > 0.15
    assert (labels[brain] > 0).mean() > 0.9
    # In RAS, x < 0 (array index < 98) is the left hemisphere: left territories end in "L".
    x_index = np.nonzero(labels)[0]
    is_left = np.array([names[v].endswith("L") for v in range(1, 31)])[labels[labels > 0] - 1]
    assert (x_index[is_left] < 98).mean() > 0.95
    assert {name[:-1] for name in names.values()} == set(TERRITORY_CLASSES)


def test_atlas_step_accepts_the_atlas_grid_and_its_subsampling_only():
    assert atlas_step(ATLAS_AFFINE, ATLAS_SHAPE) == 1
    two = ATLAS_AFFINE.copy()
    two[:3, :3] *= 2
    assert atlas_step(two, (99, 117, 95)) == 2
    assert atlas_step(two, ATLAS_SHAPE) is None  # wrong shape for 2 mm
    shifted = ATLAS_AFFINE.copy()
    shifted[0, 3] += 1.0
    assert atlas_step(shifted, ATLAS_SHAPE) is None
    assert atlas_step(np.diag([1.5, 1.5, 1.5, 1]), ATLAS_SHAPE) is None
    assert atlas_step(np.diag([-1.0, 1, 1, 1]), ATLAS_SHAPE) is None
