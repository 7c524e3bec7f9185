"""Cohort-level statistics against the ATLAS papers, on a 40-subject 2 mm cohort (slow: about 2 minutes)."""

import csv

import numpy as np
import pytest
from scipy import ndimage as ndi

from lesionkit.io import load_case_mask, load_cohort
from lesionkit.synth import generate_cohort


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


@pytest.mark.slow
@pytest.mark.ci_slow
def test_distributions_follow_the_papers(cohort):
    subjects, lesions = _rows(cohort, "participants.tsv"), _rows(cohort, "lesions.tsv")
    assert len(subjects) == 40
    n_lesions = np.array([int(s["n_lesions"]) for s in subjects])
    assert 0.45 <= np.mean(n_lesions == 1) <= 0.75  # paper: ~60 % single lesion
    assert n_lesions.min() >= 1 and n_lesions.max() <= 4
    locations = [row["location"] for row in lesions]
    for site, paper in (("subcortical", 0.60), ("cortical", 0.25), ("other", 0.15)):
        assert abs(locations.count(site) / len(locations) - paper) <= 0.10, site
    left = sum(row["hemisphere"] == "left" for row in lesions) / len(lesions)
    assert 0.35 <= left <= 0.65  # hemispheres alike
    totals = np.array([float(s["total_volume_mm3"]) for s in subjects])
    assert 2000 <= np.median(totals) <= 8000  # paper: median ≈ 4,000 mm³ (within a factor of 2)
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
