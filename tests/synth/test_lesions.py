import numpy as np
import pytest
from scipy import ndimage as ndi

from lesionkit.core import label_components
from lesionkit.synth.anatomy import Tissue, territory_table
from lesionkit.synth.lesions import (
    GAP_MM,
    LOCATIONS,
    LesionPlan,
    PlacedLesion,
    forbid,
    grow_lesion,
    paint_lesion,
    plan_lesions,
)

SHAPE = (40, 40, 40)


def test_plans_follow_the_atlas_statistics():
    rng = np.random.default_rng(0)
    plans = [plan_lesions(rng) for _ in range(3000)]
    assert np.mean([len(p) == 1 for p in plans]) == pytest.approx(0.6, abs=0.03)  # ~60 % single lesion
    assert max(len(p) for p in plans) == 4
    sites = [lesion.location for p in plans for lesion in p]
    shares = {site: sites.count(site) / len(sites) for site in LOCATIONS}
    assert shares == pytest.approx({"subcortical": 0.60, "cortical": 0.25, "other": 0.15}, abs=0.03)
    for p in plans:
        volumes = [lesion.volume_mm3 for lesion in p]
        assert volumes == sorted(volumes, reverse=True)  # largest first, to find room
        assert all(10.0 <= v <= 2.8e5 for v in volumes) and {lesion.side for lesion in p} <= {"L", "R"}
    assert np.mean([p[0].side == "L" for p in plans]) == pytest.approx(0.5, abs=0.03)


def _deep_territory(side: str) -> int:
    return next(label for label, (_, cls, s) in territory_table().items() if cls == "deep" and s == side)


def _white_matter_block(side: str = "L") -> tuple[np.ndarray, np.ndarray]:
    """Labels (tissue * 32 + territory) of a white-matter block in one deep territory, x < 0 (left)."""
    labels = np.full(SHAPE, Tissue.CSF * 32, np.uint16)
    labels[5:35, 5:35, 5:35] = Tissue.WM * 32 + _deep_territory(side)
    x_mm = np.arange(SHAPE[0], dtype=float) - (100.0 if side == "L" else -100.0)
    return labels, x_mm


def test_grown_lesion_is_one_component_in_allowed_tissue():
    labels, x_mm = _white_matter_block()
    forbidden = np.zeros(SHAPE, bool)
    forbidden[:, :, 30:] = True
    lesion = grow_lesion(np.random.default_rng(1), labels, forbidden, LesionPlan("subcortical", "L", 800.0), 1.0, x_mm)
    assert lesion is not None
    full = np.zeros(SHAPE, bool)
    full[lesion.box] = lesion.mask
    assert label_components(full)[1] == 1
    assert np.all(labels[full] >> 5 == Tissue.WM) and not (full & forbidden).any()
    assert 400 <= full.sum() <= 800  # the requested volume, less what smoothing rounds off
    assert lesion.territory == territory_table()[_deep_territory("L")][0]


def test_no_room_gives_none():
    labels, x_mm = _white_matter_block()
    assert grow_lesion(np.random.default_rng(2), labels, np.ones(SHAPE, bool),
                       LesionPlan("subcortical", "L", 100.0), 1.0, x_mm) is None
    # the other hemisphere's territories hold no seed
    assert grow_lesion(np.random.default_rng(2), labels, np.zeros(SHAPE, bool),
                       LesionPlan("subcortical", "R", 100.0), 1.0, x_mm) is None


def test_forbid_keeps_the_gap_along_diagonals_too():
    labels, x_mm = _white_matter_block()
    lesion = grow_lesion(np.random.default_rng(3), labels, np.zeros(SHAPE, bool),
                         LesionPlan("subcortical", "L", 300.0), 1.0, x_mm)
    forbidden = np.zeros(SHAPE, bool)
    forbid(forbidden, lesion, resolution=1.0)
    full = np.zeros(SHAPE, bool)
    full[lesion.box] = lesion.mask
    chessboard = ndi.distance_transform_cdt(~full, metric="chessboard")  # independent: steps to the lesion
    assert np.array_equal(forbidden, chessboard <= int(np.ceil(GAP_MM)))


def test_painted_lesion_mask_is_exactly_half_lesion_or_more():
    labels, x_mm = _white_matter_block()
    lesion = grow_lesion(np.random.default_rng(4), labels, np.zeros(SHAPE, bool),
                         LesionPlan("subcortical", "L", 500.0), 1.0, x_mm)
    image = np.full(SHAPE, 0.87, np.float32)
    before = image.copy()
    fraction = paint_lesion(np.random.default_rng(5), image, lesion, 1.0, csf_level=0.2, wm_level=0.87)
    assert np.array_equal(fraction >= 0.5, lesion.mask)  # the mask is the truth of the altered image
    changed = np.zeros(SHAPE, bool)
    changed[lesion.box] = fraction > 0
    assert np.array_equal(image[~changed], before[~changed])
    core = np.zeros(SHAPE, bool)
    core[lesion.box] = ndi.binary_erosion(lesion.mask, iterations=2)
    assert image[core].mean() < 0.6  # CSF-like core, darker than white matter


def test_small_plans_are_lacune_sized_and_keep_the_site_mix():
    rng = np.random.default_rng(0)
    plans = [p for _ in range(400) for p in plan_lesions(rng, small=True)]
    volumes = np.array([p.volume_mm3 for p in plans])
    assert volumes.min() >= 15.0 and volumes.max() <= 1500.0
    assert np.mean(volumes < 100) > 0.2 and np.mean((volumes >= 100) & (volumes < 500)) > 0.2
    sites = {site: np.mean([p.location == site for p in plans]) for site in LOCATIONS}
    assert sites["subcortical"] > 0.5 and sites["cortical"] > 0.1 and sites["other"] > 0.08


def test_small_plans_come_largest_first_and_default_plans_are_unchanged():
    plans = plan_lesions(np.random.default_rng(3), small=True)
    assert [p.volume_mm3 for p in plans] == sorted((p.volume_mm3 for p in plans), reverse=True)
    default = [p.volume_mm3 for _ in range(300) for p in plan_lesions(np.random.default_rng(_))]
    assert np.median(default) > 1500.0  # the ATLAS-like default keeps its median of a few cm³


def _sphere(radius: float) -> PlacedLesion:
    grid = np.indices((24, 24, 24)) - 11.5
    mask = (grid**2).sum(axis=0) <= radius**2
    return PlacedLesion(LesionPlan("subcortical", "L", float(mask.sum())), (slice(0, 24),) * 3, mask, "")


@pytest.mark.parametrize("radius", [2.0, 3.0])
def test_a_scaled_rim_makes_a_lacune_a_csf_dark_cavity(radius):
    lesion = _sphere(radius)
    painted = {}
    for rim in ("fixed", "scaled"):
        image = np.full((24, 24, 24), 0.87, np.float32)
        paint_lesion(np.random.default_rng(1), image, lesion, 1.0, csf_level=0.2, wm_level=0.87, rim=rim)
        painted[rim] = float(np.median(image[lesion.mask]))
    # the fixed 1.5–3 mm rim leaves a lacune grey-matter bright; scaled, most of it is CSF-like
    assert painted["fixed"] > 0.44 and painted["scaled"] < painted["fixed"] - 0.07


def test_a_scaled_rim_leaves_large_lesions_as_they_were():
    lesion = _sphere(11.0)  # 11 mm deep: the 1.5–3 mm rim is well under a third of it
    images = []
    for rim in ("fixed", "scaled"):
        image = np.full((24, 24, 24), 0.87, np.float32)
        paint_lesion(np.random.default_rng(1), image, lesion, 1.0, csf_level=0.2, wm_level=0.87, rim=rim)
        images.append(image)
    np.testing.assert_array_equal(images[0], images[1])
