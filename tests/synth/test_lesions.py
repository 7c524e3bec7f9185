import numpy as np

from lesionkit.synth.lesions import LOCATIONS, plan_lesions


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
