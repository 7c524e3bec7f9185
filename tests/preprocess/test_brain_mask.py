import nibabel as nib
import numpy as np

from lesionkit.io import ATLAS_AFFINE, ATLAS_SHAPE, load_template
from lesionkit.preprocess.brain_mask import brain_mask_native, template_brain_mask
from lesionkit.preprocess.deface import FacePlane, template_face_mask
from tests.preprocess.test_resample import _transform


def test_template_brain_mask_is_a_plausible_brain():
    mask = template_brain_mask()
    data = np.asarray(mask.dataobj)
    assert mask.shape == ATLAS_SHAPE and np.allclose(mask.affine, ATLAS_AFFINE) and data.dtype == np.uint8
    assert 1.2e6 < data.sum() < 2.1e6  # 1.2–2.1 litres
    wm = np.asarray(load_template("wm").dataobj)
    assert data[wm > 0.5].all()  # every white-matter voxel is brain
    assert data[10, 10, 10] == 0  # the corner is not


def test_brain_mask_native_follows_the_transform():
    affine = np.diag([-3.0, -3.0, 3.0, 1.0])  # LPS, 3 mm, a field of view that holds the whole head
    affine[:3, 3] = (120.0, 120.0, -120.0)
    ref = nib.Nifti1Image(np.zeros((80, 80, 80), np.float32), affine)
    native = np.asarray(brain_mask_native(_transform(), ref).dataobj)
    assert native.dtype == np.uint8 and set(np.unique(native)) <= {0, 1}
    volume = native.sum() * 27.0
    assert abs(volume - np.asarray(template_brain_mask().dataobj).sum()) < 0.1 * volume


def test_face_region_stays_clear_of_the_brain():
    plane = FacePlane()
    face = np.asarray(template_face_mask(plane).dataobj, dtype=bool)
    brain = np.asarray(template_brain_mask().dataobj, dtype=bool)
    assert face.sum() > 1e5
    assert not (face & brain).any()
    # Only anterior-inferior voxels: nothing above the plane or behind y = -10 mm at brain level.
    ijk = np.argwhere(face)
    world = ijk @ ATLAS_AFFINE[:3, :3].T + ATLAS_AFFINE[:3, 3]
    assert (world[:, 2] < plane.z0 + plane.slope * (world[:, 1] - plane.y0) + 1e-6).all()
