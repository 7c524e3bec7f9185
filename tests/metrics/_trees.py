"""Tiny on-the-fly truth (ATLAS layout) and prediction (BIDS derivatives) trees."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

SPACE = "MNI152NLin2009aSym"
SHAPE = (14, 12, 10)


def cube(lo: int, hi: int, shape=SHAPE) -> np.ndarray:
    data = np.zeros(shape, np.uint8)
    data[lo:hi, lo:hi, lo:hi] = 1
    return data


def save(data: np.ndarray, path: Path, affine: np.ndarray | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, np.diag([1.0, 1.2, 1.5, 1.0]) if affine is None else affine), str(path))
    return path


def truth_tree(root: Path, masks: dict[str, np.ndarray], cohort: str = "R001", location: bool = True) -> Path:
    """``root/Training/R001/sub-X/ses-1/anat/..._label-L_desc-T1lesion_mask.nii.gz`` + participants/lesions TSVs."""
    folder = root / "Training" / cohort
    for subject, mask in masks.items():
        anat = folder / f"sub-{subject}" / "ses-1" / "anat"
        save(mask, anat / f"sub-{subject}_ses-1_space-{SPACE}_label-L_desc-T1lesion_mask.nii.gz")
    (folder / "dataset_description.json").write_text('{"Name": "t", "BIDSVersion": "1.8.0"}')
    hemispheres = ["left", "right"]
    lines = ["participant_id\themisphere"] + [f"sub-{s}\t{hemispheres[i % 2]}" for i, s in enumerate(masks)]
    (folder / "participants.tsv").write_text("\n".join(lines) + "\n")
    if location:
        lesions = ["participant_id\tlesion\tvolume_mm3\tlocation"]
        for i, s in enumerate(masks):
            lesions += [f"sub-{s}\t1\t10\tcortical", f"sub-{s}\t2\t{50 + i}\t{['subcortical', 'other'][i % 2]}"]
        (folder / "lesions.tsv").write_text("\n".join(lesions) + "\n")
    return root


def pred_tree(root: Path, masks: dict[str, np.ndarray], probs: dict[str, np.ndarray] | None = None, affine=None):
    """BIDS derivatives of predictions: ``sub-X/ses-1/anat/..._label-L_desc-lesionkit_mask.nii.gz`` (+ probseg)."""
    for subject, mask in masks.items():
        anat = root / f"sub-{subject}" / "ses-1" / "anat"
        stem = f"sub-{subject}_ses-1_space-{SPACE}_label-L_desc-lesionkit"
        save(mask, anat / f"{stem}_mask.nii.gz", affine)
        if probs and subject in probs:
            save(probs[subject], anat / f"{stem}_probseg.nii.gz", affine)
    return root
