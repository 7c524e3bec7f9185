"""``lesionkit analyze|evaluate --prefer corrected``: hand-corrected masks (``desc-corrected``, written by
``lesionkit review``) replace the automatic ones where a case has one; the default keeps the automatic ones."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pandas as pd

from lesionkit.cli import main
from tests.cli.test_analyze import AFFINE, SHAPE, _world_box
from tests.metrics._trees import SPACE, cube, pred_tree, save, truth_tree


def _corrected(root, subject: str, mask: np.ndarray, affine=None):
    anat = root / f"sub-{subject}" / "ses-1" / "anat"
    return save(mask, anat / f"sub-{subject}_ses-1_space-{SPACE}_label-L_desc-corrected_mask.nii.gz", affine)


def test_evaluate_scores_the_corrected_prediction_only_when_asked(tmp_path):
    truth = truth_tree(tmp_path / "truth", {"r001s001": cube(2, 6), "r001s002": cube(3, 8)})
    pred = pred_tree(tmp_path / "pred", {"r001s001": cube(2, 7), "r001s002": cube(3, 7)})
    _corrected(pred, "r001s001", cube(2, 6))  # the reviewer fixed r001s001 to the truth
    dice = {}
    for prefer in ("automatic", "corrected"):
        out = tmp_path / prefer
        assert main(["evaluate", str(pred), str(truth), "-o", str(out), "--bootstrap", "10", "--quiet",
                     "--prefer", prefer]) == 0
        rows = pd.read_csv(out / "metrics.tsv", sep="\t").set_index("case_id")
        dice[prefer] = rows["dice"].to_dict()
    assert dice["automatic"]["sub-r001s001_ses-1"] < 0.9 and dice["corrected"]["sub-r001s001_ses-1"] == 1.0
    # no correction: scored as before
    assert dice["automatic"]["sub-r001s002_ses-1"] == dice["corrected"]["sub-r001s002_ses-1"] < 1.0


def test_analyze_quantifies_the_corrected_mask_only_when_asked(tmp_path):
    masks = tmp_path / "masks"
    automatic = np.zeros(SHAPE, np.uint8)
    automatic[_world_box(-25, -10, 30)] = 1  # 125 voxels of 8 mm³
    anat = masks / "sub-01" / "ses-1" / "anat"
    anat.mkdir(parents=True)
    name = f"sub-01_ses-1_space-{SPACE}_label-L_desc-lesionkit_mask.nii.gz"
    nib.save(nib.Nifti1Image(automatic, AFFINE), anat / name)
    fixed = automatic.copy()
    fixed[_world_box(-25, -10, 30, half=1)] = 0  # the reviewer removed the core: 125 - 27 voxels
    _corrected(masks, "01", fixed, AFFINE)
    volume = {}
    for prefer in ("automatic", "corrected"):
        out = tmp_path / f"out-{prefer}"
        assert main(["analyze", str(masks), "-o", str(out), "--quiet", "--no-report", "--prefer", prefer]) == 0
        volume[prefer] = pd.read_csv(out / "subjects.tsv", sep="\t").loc[0, "total_volume_mm3"]
    assert volume == {"automatic": 1000.0, "corrected": 98 * 8.0}


def test_prefer_takes_only_its_two_values(tmp_path, capsys):
    try:
        main(["analyze", str(tmp_path), "-o", str(tmp_path / "o"), "--prefer", "manual"])
    except SystemExit as exit_:
        assert exit_.code == 2
    assert "invalid choice: 'manual'" in capsys.readouterr().err
