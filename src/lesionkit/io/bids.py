"""BIDS file names, derivative paths and ``dataset_description.json``."""

from __future__ import annotations

import json
import re
from pathlib import Path

from lesionkit.io.atomic import write_text
from lesionkit.typing import PathLike

__all__ = [
    "NIFTI_EXTENSIONS",
    "bids_name",
    "derivative_path",
    "parse_bids_name",
    "split_extension",
    "write_dataset_description",
]

NIFTI_EXTENSIONS = (".nii.gz", ".nii")
#: BIDS entity order, as in the specification (the subset lesionkit reads and writes).
ENTITY_ORDER = ("sub", "ses", "task", "acq", "ce", "rec", "run", "space", "res", "label", "desc")
_ENTITY = re.compile(r"^([a-zA-Z]+)-([a-zA-Z0-9]+)$")


def split_extension(name: str) -> tuple[str, str]:
    """``'x_T1w.nii.gz' -> ('x_T1w', '.nii.gz')``; other names keep their last suffix as extension."""
    for ext in NIFTI_EXTENSIONS:
        if name.endswith(ext):
            return name[: -len(ext)], ext
    stem, dot, ext = name.rpartition(".")
    return (stem, "." + ext) if dot else (name, "")


def parse_bids_name(name: str) -> dict[str, str] | None:
    """Parse a BIDS file name into its entities plus ``suffix`` and ``extension``.

    Returns None if the name is not BIDS-like (it must start with ``sub-<label>`` and end with a
    suffix). ``parse_bids_name('sub-r001s001_ses-1_space-MNI_T1w.nii.gz')['space'] == 'MNI'``.
    """
    stem, ext = split_extension(Path(name).name)
    parts = stem.split("_")
    if len(parts) < 2 or not parts[0].startswith("sub-"):
        return None
    entities: dict[str, str] = {}
    for part in parts[:-1]:
        match = _ENTITY.match(part)
        if match is None:
            return None
        entities[match.group(1)] = match.group(2)
    if "-" in parts[-1]:
        return None
    entities["suffix"] = parts[-1]
    entities["extension"] = ext
    return entities


def bids_name(entities: dict[str, str | None], suffix: str, extension: str = ".nii.gz") -> str:
    """Build a BIDS file name with entities in the specification's order (None values skipped)."""
    known = [k for k in ENTITY_ORDER if entities.get(k)]
    extra = [k for k in entities if k not in ENTITY_ORDER and k not in ("suffix", "extension") and entities[k]]
    parts = [f"{k}-{entities[k]}" for k in known + extra]
    return "_".join([*parts, suffix]) + extension


def derivative_path(
    root: PathLike,
    subject: str,
    session: str | None,
    suffix: str,
    *,
    space: str | None = None,
    label: str | None = None,
    desc: str | None = None,
    extension: str = ".nii.gz",
    datatype: str = "anat",
) -> Path:
    """Path of a derivative file, e.g. ``root/sub-X/ses-1/anat/sub-X_ses-1_space-S_label-L_desc-D_mask.nii.gz``."""
    subject = subject.removeprefix("sub-")
    folder = Path(root) / f"sub-{subject}"
    if session:
        session = session.removeprefix("ses-")
        folder = folder / f"ses-{session}"
    name = bids_name(
        {"sub": subject, "ses": session, "space": space, "label": label, "desc": desc}, suffix, extension
    )
    return folder / datatype / name


def write_dataset_description(
    root: PathLike,
    name: str,
    *,
    dataset_type: str = "derivative",
    generated_by: dict[str, str] | None = None,
    extra: dict | None = None,
) -> Path:
    """Write ``root/dataset_description.json`` (BIDS 1.8). Derivatives name lesionkit in ``GeneratedBy``."""
    from lesionkit import __version__

    description: dict = {"Name": name, "BIDSVersion": "1.8.0", "DatasetType": dataset_type}
    if dataset_type == "derivative":
        # No CodeURL: the project has no public home yet, and an invented address would be a false record.
        description["GeneratedBy"] = [generated_by or {"Name": "lesionkit", "Version": __version__}]
    description.update(extra or {})
    return write_text(Path(root) / "dataset_description.json", json.dumps(description, indent=2) + "\n")
