"""Permutation FWE, continuous FWE and FDR of lesionkit.analysis.lsm.inference, and a null simulation."""

import numpy as np
from scipy import stats

from lesionkit.analysis.lsm import Behavior, LSMSettings, lesion_matrix, run_mapping
from lesionkit.analysis.lsm.inference import corrected_p, fdr_q, permutation_null, threshold_of, vth_largest
from lesionkit.analysis.lsm.stats import brunner_munzel


def test_vth_largest_counts_voxels_of_patches():
    values = np.array([[5.0, 4.0, 3.0, 2.0]])
    weights = np.array([1, 3, 2, 1])
    assert vth_largest(values, weights, 1)[0] == 5.0
    assert vth_largest(values, weights, 2)[0] == 4.0  # voxels: 5, 4, 4, 4, 3, 3, 2
    assert vth_largest(values, weights, 4)[0] == 4.0
    assert vth_largest(values, weights, 5)[0] == 3.0
    assert vth_largest(values, weights, 7)[0] == 2.0
    assert vth_largest(values, weights, 8)[0] == -np.inf


def test_fdr_q_matches_scipy_on_voxels():
    rng = np.random.default_rng(0)
    p = rng.random(40) ** 3
    weights = rng.integers(1, 5, size=40)
    q = fdr_q(p, weights)
    voxel_q = stats.false_discovery_control(np.repeat(p, weights))
    assert np.allclose(np.repeat(q, weights), voxel_q)


def test_corrected_p_and_threshold_agree():
    rng = np.random.default_rng(1)
    null = rng.normal(size=999)
    observed = np.linspace(-1, 4, 200)
    p = corrected_p(observed, null)
    threshold = threshold_of(null, 0.05)
    assert np.array_equal(p <= 0.05, observed > threshold)
    assert p.min() >= 1 / 1000
    assert threshold_of(null[:10], 0.05) == np.inf  # 10 permutations cannot give p ≤ 0.05


def test_null_is_the_same_for_a_seed_whatever_jobs():
    rng = np.random.default_rng(2)
    lesion = rng.random((30, 60)) < 0.3
    y = rng.normal(size=30)
    observed = brunner_munzel(lesion, y)[0]
    weights = np.ones(60, int)

    def fn(s):
        return brunner_munzel(lesion, s)

    one = permutation_null(fn, y, observed, weights, n_permutations=50, seed=5, v=3)
    two = permutation_null(fn, y, observed, weights, n_permutations=50, seed=5, v=3, jobs=2, chunk=7)
    assert np.array_equal(one.maxima, two.maxima) and np.array_equal(one.exceed, two.exceed)
    assert np.array_equal(one.vth, two.vth)
    other = permutation_null(fn, y, observed, weights, n_permutations=50, seed=6)
    assert not np.array_equal(one.maxima, other.maxima)


def _sphere_masks(rng, n, shape=(14, 14, 14)):
    grid = np.indices(shape).reshape(3, -1).T
    masks = []
    for _ in range(n):
        centre = rng.uniform(3, 11, size=3)
        radius = rng.uniform(2.5, 5)
        masks.append((np.linalg.norm(grid - centre, axis=1) <= radius).reshape(shape).astype(np.uint8))
    return masks


def test_family_wise_false_positives_at_most_alpha_under_the_null():
    """250 data sets, scores independent of the lesions: Brunner–Munzel + permutation FWE at α = 0.05.

    The 95 % Clopper–Pearson interval of the rate must include a value ≤ 5 % (benchmarks/lsm_accuracy.py
    runs the same on the real LESYMAP tracings).
    """
    import nibabel as nib

    rng = np.random.default_rng(2024)
    settings = LSMSettings(test="bm", correction="fwe", permutations=99, seed=1)
    hits = 0
    n_sets = 250
    for k in range(n_sets):
        masks = [nib.Nifti1Image(m, np.eye(4)) for m in _sphere_masks(rng, 24)]
        matrix = lesion_matrix(masks, min_lesioned=4)
        subjects = [f"s{i}" for i in range(24)]
        behavior = Behavior(subjects, "score", rng.normal(size=24))
        result = run_mapping(matrix, behavior, LSMSettings(**{**settings.as_dict(), "seed": k}))
        hits += bool(result.significant.any())
    ci = stats.binomtest(hits, n_sets).proportion_ci(0.95)
    print(f"FWE false-positive rate {hits}/{n_sets} = {hits / n_sets:.3f}, 95 % CI [{ci.low:.3f}, {ci.high:.3f}]")
    assert ci.low <= 0.05
    assert hits / n_sets <= 0.08


def test_planted_effect_is_found_where_it_was_planted():
    import nibabel as nib

    rng = np.random.default_rng(7)
    masks = _sphere_masks(rng, 40)
    target = np.zeros((14, 14, 14), bool)
    target[6:9, 6:9, 6:9] = True
    load = np.array([m[target].mean() for m in masks])
    scores = -3 * load + rng.normal(scale=0.3, size=40)
    matrix = lesion_matrix([nib.Nifti1Image(m, np.eye(4)) for m in masks], min_lesioned=4)
    behavior = Behavior([f"s{i}" for i in range(40)], "score", scores)
    result = run_mapping(matrix, behavior, LSMSettings(permutations=199))
    peak_voxel = matrix.voxels[np.flatnonzero(result.matrix.voxel_patch == np.argmax(result.statistic))]
    peak = np.array(np.unravel_index(peak_voxel, target.shape)).T
    assert result.significant.any()
    assert np.linalg.norm(peak.mean(axis=0) - 7.0) < 3.0
