import numpy as np
import pytest

from lesionkit.synth import SynthOptions, generate_subject
from lesionkit.synth.anatomy import Tissue, grid_shape, head_model
from lesionkit.synth.lesions import LesionPlan
from lesionkit.synth.real_shapes import load_shapes, place_real_lesion


def test_archive_holds_the_155_tracings_small_and_exact():
    from importlib import resources

    shapes = load_shapes()
    assert len(shapes) == 155
    assert resources.files("lesionkit.data").joinpath("real_lesion_shapes.npz").stat().st_size < 3e6
    names = [str(n) for n in shapes.names]
    assert sum(n.startswith("lesymap") for n in names) == 131 and sum(n.startswith("mricron") for n in names) == 24
    for index in (0, 77, 154):
        crop = shapes.crop(index)
        assert crop.sum() == shapes.voxels[index] and crop.shape == tuple(shapes.shapes[index])
        # the box is tight: every face of it touches the lesion
        assert crop[0].any() and crop[-1].any() and crop[:, 0].any() and crop[:, :, -1].any()
    # LESYMAP strokes are left-hemisphere, MRIcron ones right (x = i - 98 on the ATLAS grid)
    centre_x = shapes.corners[:, 0] + shapes.shapes[:, 0] / 2.0 - 98.0
    assert all(x < 0 for x, n in zip(centre_x, names, strict=True) if n.startswith("lesymap"))
    assert all(x > 0 for x, n in zip(centre_x, names, strict=True) if n.startswith("mricron"))


@pytest.mark.parametrize(("side", "volume"), [("R", 40_000.0), ("L", 300.0)])
def test_placed_in_the_brain_on_its_side_at_about_the_planned_volume(side, volume):
    model = head_model(2)
    labels = np.array(model.labels)
    x_mm = model.affine[0, 0] * np.arange(labels.shape[0]) + model.affine[0, 3]
    forbidden = np.zeros(grid_shape(2), bool)
    lesion = None
    for seed in range(5):
        plan = LesionPlan("cortical", side, volume)
        lesion = place_real_lesion(np.random.default_rng(seed), labels, forbidden, plan, 2.0, x_mm)
        if lesion is not None:
            break
    assert lesion is not None
    tissue = (labels >> 5)[lesion.box][lesion.mask]
    assert np.isin(tissue, (Tissue.CORTEX, Tissue.DEEP_GM, Tissue.WM, Tissue.INFRA_GM, Tissue.INFRA_WM)).all()
    x = x_mm[lesion.box[0]][np.nonzero(lesion.mask)[0]]
    assert (x < 0).all() if side == "L" else (x > 0).all()
    assert 0.4 * volume <= lesion.mask.sum() * 8.0 <= 2.5 * volume


def test_real_shapes_subject_keeps_mask_and_metadata_in_step():
    from scipy import ndimage as ndi

    subject = generate_subject(5, resolution=2, options=SynthOptions(lesion_shapes="real"))
    default = generate_subject(5, resolution=2)
    assert not np.array_equal(subject.mask, default.mask)
    labels, n = ndi.label(subject.mask)
    assert n == subject.n_lesions >= 1
    assert sorted(np.bincount(labels.ravel())[1:] * 8.0) == sorted(le["volume_mm3"] for le in subject.lesions)
    inside = subject.tissue[subject.mask.astype(bool)]
    assert not np.isin(inside, (Tissue.VENTRICLE, Tissue.CSF, Tissue.AIR, Tissue.SKULL, Tissue.SCALP)).any()
