"""``lesionkit segment`` on a native scan, for real: preprocessing (N4, registration) → the shipped default model in
MNI space → probabilities mapped back onto the input grid."""

import nibabel as nib
import numpy as np
import pytest

from lesionkit.cli import main
from lesionkit.io import load_cohort
from lesionkit.metrics import evaluate_pair


@pytest.mark.slow
@pytest.mark.ci_slow
def test_segment_native_synth_scan_end_to_end_finds_the_lesion(tmp_path):
    cohort = tmp_path / "cohort"
    assert main(["synth", str(cohort), "--subjects", "1", "--seed", "4", "--resolution", "2", "--space", "native",
                 "--quiet"]) == 0
    (case,) = load_cohort(cohort, space="orig")
    t1 = nib.load(case.t1w)
    assert t1.shape != (197, 233, 189)  # really a native grid (oblique, its own shape)
    out = tmp_path / "seg"
    assert main(["segment", str(case.t1w), "-o", str(out)]) == 0
    (mask_path,) = out.glob("sub-*/ses-1/anat/*_space-orig_label-L_desc-lesionkit_mask.nii.gz")
    (prob_path,) = out.glob("sub-*/ses-1/anat/*_space-orig_label-L_desc-lesionkit_probseg.nii.gz")
    mask, prob = nib.load(mask_path), nib.load(prob_path)
    assert mask.shape == prob.shape == t1.shape
    np.testing.assert_array_equal(mask.affine, t1.affine)
    np.testing.assert_array_equal(prob.affine, t1.affine)
    values = np.asarray(mask.dataobj)
    assert mask.get_data_dtype() == np.uint8 and set(np.unique(values)) <= {0, 1}
    p = np.asarray(prob.dataobj)
    assert 0.0 <= p.min() and p.max() <= 1.0
    # the lesions (2 of them, 2,544 mm³) are found on the native grid: Dice measured 0.79; ~0 if the mapping
    # back, the registration or the model breaks
    truth = np.asarray(nib.load(case.mask).dataobj)
    assert evaluate_pair(values, truth, mask.header.get_zooms())["dice"] > 0.6
