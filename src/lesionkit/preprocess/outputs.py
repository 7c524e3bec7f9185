"""BIDS-derivative files of one preprocessed scan (fMRIPrep-style names, atomic writes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lesionkit.io import MNI_SPACE, bids_name, derivative_path, save_nifti, write_text
from lesionkit.preprocess.pipeline import PreprocessResult
from lesionkit.preprocess.xfm import save_transform
from lesionkit.typing import PathLike

__all__ = ["output_paths", "write_outputs"]


def output_paths(root: PathLike, subject: str, session: str | None) -> dict[str, Path]:
    """Where :func:`write_outputs` puts each file of ``sub-<subject>[_ses-<session>]`` under ``root``."""

    def mni(suffix: str, extension: str = ".nii.gz", **entities: str) -> Path:
        return derivative_path(root, subject, session, suffix, space=MNI_SPACE, extension=extension, **entities)

    t1w = mni("T1w", desc="preproc")
    folder = t1w.parent
    ids = {"sub": subject.removeprefix("sub-"), "ses": session.removeprefix("ses-") if session else None}

    def xfm(source: str, target: str, extension: str) -> Path:
        return folder / bids_name({**ids, "from": source, "to": target, "mode": "image"}, "xfm", extension)

    return {
        "t1w": t1w,
        "sidecar": t1w.with_name(t1w.name.replace(".nii.gz", ".json")),
        "mask": mni("mask", label="L", desc="T1lesion"),
        "brain_mask": mni("mask", desc="brain"),
        "xfm_mat": xfm("orig", MNI_SPACE, ".mat"),
        "xfm_json": xfm("orig", MNI_SPACE, ".json"),
        "inverse_xfm_mat": xfm(MNI_SPACE, "orig", ".mat"),
        "inverse_xfm_json": xfm(MNI_SPACE, "orig", ".json"),
        "qc": derivative_path(root, subject, session, "T1w", space=MNI_SPACE, desc="registration",
                              extension=".png", datatype="figures"),
    }


def write_outputs(result: PreprocessResult, root: PathLike, subject: str, session: str | None) -> dict[str, Path]:
    """Write the MNI-space T1w, lesion and brain masks, both transforms and the JSON sidecar; returns their paths.

    The QC figure's path is included but not written here (the report stage draws it).
    """
    paths = output_paths(root, subject, session)
    save_nifti(result.t1w_mni, paths["t1w"], dtype=np.float32)
    if result.mask_mni is not None:
        save_nifti(result.mask_mni, paths["mask"], dtype=np.uint8)
    else:
        paths.pop("mask")
    save_nifti(result.brain_mask_mni, paths["brain_mask"], dtype=np.uint8)
    save_transform(result.transform, paths["xfm_mat"], paths["xfm_json"], source="orig", target=MNI_SPACE)
    save_transform(
        result.inverse_transform, paths["inverse_xfm_mat"], paths["inverse_xfm_json"], source=MNI_SPACE, target="orig"
    )
    sidecar = {
        "Sources": [str(result.source)] if result.source else [],
        "SpatialReference": MNI_SPACE,
        "SkullStripped": False,  # BIDS requires it for a preprocessed T1w: defaced, never skull-stripped
        "Description": "N4-corrected, white-matter-peak-standardised (WM = 1), defaced T1w, affinely registered "
        "to MNI152NLin2009aSym and resampled linearly onto the ATLAS grid (197x233x189, 1 mm)",
        "Steps": result.steps,
        "TotalSeconds": round(sum(step["seconds"] for step in result.steps), 3),
    }
    write_text(paths["sidecar"], json.dumps(sidecar, indent=2, default=_jsonable) + "\n")
    return paths


def _jsonable(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
