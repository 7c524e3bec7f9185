"""Cohort-level statistics against the ATLAS papers.

The papers' figures are checked on 20,000 drawn lesion plans (sampling error ~0.004, so the test fails only when
the generator's law moves, not by the luck of one seed), and the rendered 40-subject 2 mm cohort (slow: about
2 minutes) is checked to follow them within 4.5 standard errors of a 40-subject sample.
"""

import csv

import numpy as np
import pytest
from scipy import ndimage as ndi

from lesionkit.io import load_case_mask, load_cohort
from lesionkit.synth import generate_cohort
from lesionkit.synth.lesions import plan_lesions

#: ATLAS v1.2/2.0 papers: ~60 % single lesion; 60/25/15 % subcortical/cortical/other; median total ≈ 4,000 mm³.
PAPER_SINGLE, PAPER_SITES, PAPER_MEDIAN_MM3 = 0.60, {"subcortical": 0.60, "cortical": 0.25, "other": 0.15}, 4000.0


def _band(p: float, n: int, floor: float) -> float:
    """How far a share estimated from ``n`` draws may sit from ``p``: ``floor`` or 4.5 standard errors."""
    return max(floor, 4.5 * float(np.sqrt(p * (1 - p) / n)))


def _rows(out, name):
    rows = []
    for path in sorted(out.glob(f"Training/R*/{name}")):
        with path.open(newline="") as handle:
            rows += list(csv.DictReader(handle, delimiter="\t"))
    return rows


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth40")
    generate_cohort(out, 40, seed=0, resolution=2, progress=False)
    return out


def test_lesion_plans_follow_the_papers():
    plans = [plan_lesions(np.random.default_rng([21, k])) for k in range(20_000)]
    counts = np.array([len(p) for p in plans])
    assert abs(np.mean(counts == 1) - PAPER_SINGLE) <= 0.03 and counts.min() >= 1 and counts.max() <= 4
    sites = [lesion.location for plan in plans for lesion in plan]
    for site, paper in PAPER_SITES.items():
        assert abs(sites.count(site) / len(sites) - paper) <= 0.03, site
    left = np.mean([lesion.side == "L" for plan in plans for lesion in plan])
    assert abs(left - 0.5) <= 0.03  # hemispheres alike
    # (volumes are checked on the rendered cohort: growth inside the allowed tissue shrinks the planned ones)


@pytest.mark.slow
@pytest.mark.ci_slow
def test_distributions_follow_the_papers(cohort):
    subjects, lesions = _rows(cohort, "participants.tsv"), _rows(cohort, "lesions.tsv")
    assert len(subjects) == 40
    n_lesions = np.array([int(s["n_lesions"]) for s in subjects])
    assert abs(np.mean(n_lesions == 1) - PAPER_SINGLE) <= _band(PAPER_SINGLE, len(subjects), 0.15)
    assert n_lesions.min() >= 1 and n_lesions.max() <= 4
    locations = [row["location"] for row in lesions]
    for site, paper in PAPER_SITES.items():
        assert abs(locations.count(site) / len(locations) - paper) <= _band(paper, len(locations), 0.10), site
    left = sum(row["hemisphere"] == "left" for row in lesions) / len(lesions)
    assert abs(left - 0.5) <= _band(0.5, len(lesions), 0.15)  # hemispheres alike
    totals = np.log([float(s["total_volume_mm3"]) for s in subjects])
    # the median within a factor of 2 of the paper's, or 4.5 standard errors of a sample median (log scale)
    error = 1.2533 * float(np.std(totals)) / np.sqrt(len(totals))
    assert abs(np.median(totals) - np.log(PAPER_MEDIAN_MM3)) <= max(np.log(2.0), 4.5 * error)
    volumes = np.array([float(row["volume_mm3"]) for row in lesions])
    assert volumes.min() >= 8 and volumes.max() <= 2.8e5
    assert volumes.max() / volumes.min() > 100  # a realistic spread, not one size


@pytest.mark.slow
@pytest.mark.ci_slow
def test_every_mask_matches_its_metadata(cohort):
    lesions = _rows(cohort, "lesions.tsv")
    for case in load_cohort(cohort):
        mask = np.asanyarray(load_case_mask(case).dataobj)
        labels, n = ndi.label(mask)
        assert n == int(case.metadata["n_lesions"]), case.id
        mine = sorted(float(r["volume_mm3"]) for r in lesions if r["participant_id"] == f"sub-{case.subject}")
        assert sorted(np.bincount(labels.ravel())[1:] * 8.0) == mine, case.id
