"""Tiny derivatives folders for the review tests, built on the fly with a seeded generator."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np

SHAPE = (20, 24, 16)
SPACE = "MNI152NLin2009aSym"


def oblique_affine() -> np.ndarray:
    """Permuted, flipped, anisotropic and rotated by about 20 degrees: nothing like RAS."""
    from scipy.spatial.transform import Rotation

    rotation = Rotation.from_euler("xyz", [20, -10, 5], degrees=True).as_matrix()
    to_world = np.array([[0, 0, -1], [1, 0, 0], [0, -1, 0]], float)  # voxel i -> +y, j -> -z, k -> -x
    affine = np.eye(4)
    affine[:3, :3] = rotation @ to_world @ np.diag([2.0, 1.5, 3.0])
    affine[:3, 3] = (10.0, -20.0, 5.0)
    return affine


def lesion_mask(seed: int, shape=SHAPE) -> np.ndarray:
    """Two box lesions at seeded places: a large one and a small one."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, np.uint8)
    x, y, z = rng.integers(2, 6, 3)
    mask[x:x + 6, y:y + 7, z:z + 5] = 1
    mask[shape[0] - 4:shape[0] - 2, shape[1] - 4:shape[1] - 2, shape[2] - 3:shape[2] - 1] = 1
    return mask


def names(subject: str, space: str = SPACE) -> dict[str, str]:
    stem = f"sub-{subject}_ses-1_space-{space}"
    return {"t1w": f"{stem}_desc-preproc_T1w.nii.gz", "mask": f"{stem}_label-L_desc-lesionkit_mask.nii.gz",
            "probseg": f"{stem}_label-L_desc-lesionkit_probseg.nii.gz"}


def write_case(root: Path, subject: str, seed: int, affine: np.ndarray | None = None, t1w: bool = True,
               sidecar: bool = True, space: str = SPACE) -> Path:
    """One case under ``root/sub-X/ses-1/anat``: T1w (random) and the automatic mask with a sidecar."""
    affine = np.diag([2.0, 2.0, 2.0, 1.0]) if affine is None else affine
    anat = root / f"sub-{subject}" / "ses-1" / "anat"
    anat.mkdir(parents=True, exist_ok=True)
    files = names(subject, space)
    mask = lesion_mask(seed)
    if t1w:
        image = np.random.default_rng(seed).normal(100, 10, SHAPE).astype(np.float32)
        nib.save(nib.Nifti1Image(image, affine), anat / files["t1w"])
    nib.save(nib.Nifti1Image(mask, affine), anat / files["mask"])
    if sidecar:
        record = {"Type": "Lesion", "LesionVoxels": int(mask.sum()), "SpatialReference": "n/a.nii.gz"}
        (anat / files["mask"].replace(".nii.gz", ".json")).write_text(json.dumps(record))
    return anat / files["mask"]


def write_folder(root: Path, qc: bool = True) -> Path:
    """Three cases (one on an oblique, non-RAS grid) and, with ``qc``, a qc.tsv flagging r001s002."""
    write_case(root, "r001s001", 1)
    write_case(root, "r001s002", 2)
    write_case(root, "r001s003", 3, affine=oblique_affine())
    (root / "dataset_description.json").write_text(json.dumps({"Name": "t", "BIDSVersion": "1.8.0",
                                                               "DatasetType": "derivative"}))
    if qc:
        (root / "qc.tsv").write_text(
            "case_id\tsubject\tsession\tqc_score\tqc_flag\tqc_reasons\n"
            "sub-r001s001_ses-1\tr001s001\t1\t0.10\tok\tn/a\n"
            "sub-r001s002_ses-1\tr001s002\t1\t0.90\tcheck\tflip-TTA Dice 0.41; volume outlier\n"
            "sub-r001s003_ses-1\tr001s003\t1\t0.30\tok\t\n")
    return root
