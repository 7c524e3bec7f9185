import math

import numpy as np

from lesionkit.qc.cohort import cohort_outliers, robust_z


def test_the_outlier_stands_out_and_the_others_do_not():
    volumes = [3000, 4000, 3500, 5000, 4500, 2500, 250_000]
    z = robust_z(volumes)
    assert z[-1] > 3 and np.all(np.abs(z[:-1]) < 2)
    tiny = robust_z([3000, 4000, 3500, 5000, 4500, 2500, 5])
    assert tiny[-1] < -3


def test_the_outlier_does_not_hide_itself():
    # a mean/std z-score of one huge value among five is at most (n-1)/sqrt(n) = 2.04; the robust one is not capped
    z = robust_z([1000, 1100, 900, 1050, 950, 10**7])
    assert z[-1] > 10


def test_too_few_cases_or_identical_cases_give_no_outliers():
    assert np.isnan(robust_z([1, 2, 3, 4])).all()
    assert np.isnan(robust_z([5, 5, 5, 5, 5, 5])).all()
    one_lesion = robust_z([1, 1, 1, 1, 1, 2, 9])  # MAD 0: the mean absolute deviation scales it
    assert one_lesion[-1] > 3 and one_lesion[0] == 0 and one_lesion[-2] < one_lesion[-1]
    z = robust_z([1000, 1100, math.nan, 900, 1050, 950, 5000])
    assert math.isnan(z[2]) and z[-1] > 3  # NaN is skipped, not counted


def test_cohort_outliers_names_both_parts():
    out = cohort_outliers([1000, 1100, 900, 1050, 950, 1000], [1, 1, 2, 1, 1, 9])
    assert set(out) == {"volume_z", "count_z"} and out["count_z"][-1] > 3
