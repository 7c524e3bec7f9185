"""Tested voxels, unique patches and subject matching of lesionkit.analysis.lsm.design."""

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from lesionkit.analysis.lsm import lesion_matrix, match_subjects, min_lesioned_count, read_behavior
from lesionkit.io import InvalidInputError


def _masks(seed=0, n=12, shape=(8, 9, 7)):
    rng = np.random.default_rng(seed)
    return [(rng.random(shape) < 0.35).astype(np.uint8) for _ in range(n)]


def test_patches_reproduce_every_tested_voxel_and_only_those():
    masks = _masks()
    matrix = lesion_matrix([nib.Nifti1Image(m, np.eye(4)) for m in masks], min_lesioned=3)
    stacked = np.stack([m.ravel() for m in masks]).astype(bool)
    count = stacked.sum(axis=0)
    assert np.array_equal(matrix.voxels, np.flatnonzero((count >= 3) & (count <= len(masks) - 2)))
    assert np.array_equal(matrix.patches[:, matrix.voxel_patch], stacked[:, matrix.voxels])
    assert np.unique(matrix.patches, axis=1).shape[1] == matrix.patches.shape[1]  # each pattern once
    assert matrix.patch_voxels.sum() == matrix.voxels.size
    assert np.allclose(matrix.lesion_volume, stacked.sum(axis=1))
    volume = matrix.to_volume(np.arange(matrix.patches.shape[1]), fill=-1)
    assert np.array_equal(volume.ravel()[matrix.voxels], matrix.voxel_patch)


@pytest.mark.parametrize(("value", "n", "count"), [(0.1, 131, 14), (0.1, 20, 2), (5, 20, 5), (0.5, 7, 4)])
def test_min_lesioned_count(value, n, count):
    assert min_lesioned_count(value, n) == count


def test_min_lesioned_fraction_count_is_refused():
    with pytest.raises(ValueError, match="whole"):
        min_lesioned_count(2.5, 20)


def test_matching_strips_sub_and_lists_unmatched_rows(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"subject": ["sub-a", "b", "c"], "score": [1, 2, 3], "age": [50, 60, 70]}).to_csv(path, index=False)
    table = read_behavior(path)
    behavior = match_subjects(["b", "a"], table, path, covariates=["age", "lesion_volume"],
                              lesion_volume=np.array([10.0, 20.0]))
    assert behavior.scores.tolist() == [2, 1] and behavior.unmatched_rows == ["c"]
    assert behavior.covariates.tolist() == [[60, 10], [50, 20]]


def test_duplicate_rows_and_missing_columns_are_refused(tmp_path):
    path = tmp_path / "t.tsv"
    pd.DataFrame({"participant_id": ["a", "sub-a"], "score": [1, 2]}).to_csv(path, sep="\t", index=False)
    with pytest.raises(InvalidInputError, match="more than once: a"):
        read_behavior(path)
    pd.DataFrame({"participant_id": ["a", "b"], "score": [1, 2]}).to_csv(path, sep="\t", index=False)
    with pytest.raises(InvalidInputError, match="no covariate column 'age'"):
        match_subjects(["a", "b"], read_behavior(path), path, covariates=["age"])
