"""Discover cases in ATLAS, BIDS, BIDS-derivative, ATLAS R1.1 and flat layouts.

One function, :func:`load_cohort`, reads them all by looking at file names only (nothing is loaded):

* ATLAS v2.0: ``Training/R001/sub-r001s001/ses-1/anat/sub-r001s001_ses-1_space-MNI152NLin2009aSym_T1w.nii.gz``
  with ``..._label-L_desc-T1lesion_mask.nii.gz``; each ``R0xx`` folder has its own
  ``dataset_description.json``; the ``Testing`` split has no masks.
* plain BIDS (``sub-*/[ses-*/]anat/*_T1w.nii.gz``) and BIDS derivatives of predicted masks
  (``*_label-L_*_mask.nii.gz``, ``*_probseg.nii.gz``).
* ATLAS R1.1 native naming: ``c0001s0004t01.nii.gz`` with one mask per lesion
  (``*LesionSmooth.nii.gz``, ``*LesionSmooth_1.nii.gz``, ...) merged by :func:`load_case_mask`.
* flat folders of files named by subject (``r001s001.nii.gz``, ``sub-r001s001_mask.nii.gz``).

The same rules hold for every layout (and so for every command):

* folders are walked following symbolic links (a folder reached twice, e.g. through a link loop, is read
  once); a folder that cannot be read and a broken link to a NIfTI name are errors, never skipped;
* one subject and session has one T1w, one lesion mask and one probability map per space: a second one
  is an error naming both files; ATLAS R1.1's one-mask-per-lesion ``*_LesionSmooth_N`` files are the one
  documented exception, merged by :func:`load_case_mask`;
* one subject id belongs to one site (cohort folder): the same id under two sites is an error;
* with ``truth=True`` lesionkit's own outputs (``desc-lesionkit`` masks and probability maps, e.g. a
  ``lesionkit segment`` run written into the cohort) are skipped, so a prediction is never read as truth;
* a hand-corrected mask (``desc-corrected``, what ``lesionkit review`` writes beside the automatic one) is
  not a second mask: ``prefer`` chooses between the two, here and only here.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import nibabel as nib
import numpy as np

from lesionkit.io.bids import NIFTI_EXTENSIONS, bids_name, parse_bids_name, split_extension
from lesionkit.io.errors import InvalidInputError
from lesionkit.io.nifti import check_same_grid, load_mask
from lesionkit.typing import PathLike

__all__ = [
    "CORRECTED_DESC",
    "MNI_SPACE",
    "OUTPUT_DESC",
    "Case",
    "Prefer",
    "corrected_mask_path",
    "is_corrected_mask",
    "load_case_mask",
    "load_cohort",
]

MNI_SPACE = "MNI152NLin2009aSym"
_R11_NAME = re.compile(r"(c\d{4})(s\d{4})(t\d{2})", re.IGNORECASE)
_COHORT_DIR = re.compile(r"^R\d{3}$")
_MASK_WORDS = ("lesion", "mask", "label", "seg", "pred")
_R11_LESION = re.compile(r"_LesionSmooth(_\d+)?$", re.IGNORECASE)
#: BIDS ``desc`` of the masks and probability maps lesionkit writes (``lesionkit segment``).
OUTPUT_DESC = "lesionkit"
#: BIDS ``desc`` of a mask corrected by hand (``lesionkit review``), written beside the automatic one.
CORRECTED_DESC = "corrected"
Role = Literal["t1w", "mask", "probseg"]
#: Which mask a case uses when it has an automatic and a ``desc-corrected`` one.
Prefer = Literal["automatic", "corrected"]


@dataclass(frozen=True)
class Case:
    """One scan of one subject: where its files are, and what is known about it."""

    subject: str
    """Subject label without ``sub-`` (``r001s001``; ``c0001s0004`` for R1.1)."""
    t1w: Path | None = None
    mask: Path | None = None
    """The lesion mask; for R1.1 the first of :attr:`mask_parts`."""
    session: str | None = None
    cohort: str | None = None
    """Cohort/site folder (``R001``), or the R1.1 site code (``c0001``)."""
    space: str | None = None
    probseg: Path | None = None
    mask_parts: tuple[Path, ...] = ()
    """All lesion-mask files of the case (several in R1.1, one lesion each); merged on loading."""
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """``sub-<label>[_ses-<label>]``, unique within a cohort listing."""
        return f"sub-{self.subject}" + (f"_ses-{self.session}" if self.session else "")


def load_case_mask(case: Case) -> nib.Nifti1Image:
    """Load the case's lesion mask, merging R1.1's one-file-per-lesion masks into one (logical OR)."""
    parts = case.mask_parts or ((case.mask,) if case.mask else ())
    if not parts:
        raise InvalidInputError(case.t1w, f"case {case.id} has no lesion mask")
    merged = load_mask(parts[0])
    data = np.asanyarray(merged.dataobj).copy()
    for part in parts[1:]:
        other = load_mask(part)
        check_same_grid(merged, other)
        data |= np.asanyarray(other.dataobj)
    out = nib.Nifti1Image(data, merged.affine, merged.header)
    out.set_filename(str(parts[0]))
    return out


def is_corrected_mask(path: PathLike) -> bool:
    """True for a mask file named as corrected by hand (``desc-corrected``)."""
    stem, _ = split_extension(Path(path).name)
    entities = parse_bids_name(Path(path).name)
    if entities is not None:
        return entities.get("desc", "").lower() == CORRECTED_DESC and entities["suffix"] == "mask"
    return stem.lower().endswith(f"_desc-{CORRECTED_DESC}_mask")


def corrected_mask_path(mask: PathLike) -> Path:
    """Where the hand-corrected version of ``mask`` goes: beside it, with ``desc-corrected``.

    ``sub-X_ses-1_label-L_desc-lesionkit_mask.nii.gz`` -> ``sub-X_ses-1_label-L_desc-corrected_mask.nii.gz``;
    a name that is not BIDS (``r001s001.nii.gz``) gets ``_desc-corrected_mask`` appended to its stem.
    """
    mask = Path(mask)
    entities = parse_bids_name(mask.name)
    if entities is not None and entities["suffix"] == "mask":
        named = {k: v for k, v in entities.items() if k not in ("suffix", "extension")}
        return mask.with_name(bids_name({**named, "desc": CORRECTED_DESC}, "mask", entities["extension"]))
    stem, ext = split_extension(mask.name)
    return mask.with_name(f"{stem}_desc-{CORRECTED_DESC}_mask{ext or '.nii.gz'}")


@dataclass
class _Entry:
    t1w: Path | None = None
    masks: list[Path] = field(default_factory=list)
    corrected: Path | None = None
    probseg: Path | None = None
    cohort: str | None = None
    split: str | None = None


def _is_nifti(path: Path) -> bool:
    return path.is_file() and path.name.endswith(NIFTI_EXTENSIONS) and not path.name.startswith(".")


def _is_lesion_entities(label: str | None, desc: str) -> bool:
    """``label-L`` (BIDS for lesion), or no label and a description that is absent or says lesion."""
    if label is not None:
        return label == "L"
    return not desc or "lesion" in desc


def _classify(path: Path, default_role: Role, truth: bool) -> tuple[str, str | None, str | None, Role] | None:
    """(subject, session, space, role) from the file name, or None if the file is not a case file."""
    entities = parse_bids_name(path.name)
    if entities is not None:
        suffix = entities["suffix"]
        desc = entities.get("desc", "").lower()
        if truth and desc == OUTPUT_DESC and suffix in ("mask", "probseg"):
            return None  # lesionkit's own prediction: never the truth
        if suffix == "T1w":
            role: Role = "t1w"
        elif suffix in ("mask", "probseg") and _is_lesion_entities(entities.get("label"), desc):
            role = "mask" if suffix == "mask" else "probseg"
        else:
            return None  # brain masks, other modalities, QC images...
        return entities["sub"], entities.get("ses"), entities.get("space"), role
    stem, _ = split_extension(path.name)
    r11 = _R11_NAME.search(stem)
    if r11 is not None:
        role = "mask" if "lesion" in stem.lower() else "t1w"
        return (r11.group(1) + r11.group(2)).lower(), r11.group(3).lower(), None, role
    subject = stem.removeprefix("sub-").split("_")[0]
    lowered = stem.lower()
    role = "mask" if any(w in lowered for w in _MASK_WORDS) else default_role
    if "prob" in lowered:
        role = "probseg"
    return subject, None, None, role


def _cohort_of(path: Path, root: Path) -> tuple[str | None, str | None]:
    """(cohort, split): the nearest ``R0xx`` or dataset folder, and ``Training``/``Testing`` if any."""
    cohort = split = None
    for parent in reversed(path.relative_to(root).parents):  # root first, nearest folder last
        folder = root / parent
        name = folder.name
        if name in ("Training", "Testing", "train", "test"):
            split = name
        if _COHORT_DIR.match(name) or (folder != root and (folder / "dataset_description.json").exists()):
            cohort = name
    if cohort is None and _COHORT_DIR.match(root.name):
        cohort = root.name
    return cohort, split


def _participants(folder: Path, cache: dict[Path, dict[str, dict[str, str]]]) -> dict[str, dict[str, str]]:
    if folder not in cache:
        rows: dict[str, dict[str, str]] = {}
        tsv = folder / "participants.tsv"
        if tsv.exists():
            try:
                with tsv.open(newline="", encoding="utf-8") as handle:
                    for row in csv.DictReader(handle, delimiter="\t"):
                        pid = (row.get("participant_id") or "").removeprefix("sub-")
                        if pid:
                            rows[pid] = row
            except (OSError, UnicodeDecodeError, csv.Error) as error:
                raise InvalidInputError(tsv, f"cannot read the participants table ({error})") from error
        cache[folder] = rows
    return cache[folder]


def _walk(root: Path) -> Iterable[Path]:
    """NIfTI files under ``root`` in sorted order, following folder links; unreadable folders raise."""

    def refuse(error: OSError) -> None:
        raise InvalidInputError(error.filename, f"cannot read this folder ({error.strerror})")

    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, onerror=refuse, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:  # a link loop, or a folder linked twice: read once
            dirnames[:] = []
            continue
        seen.add(real)
        # A BIDS root's derivatives are other datasets; dot-folders are never data.
        dirnames[:] = sorted(d for d in dirnames if d != "derivatives" and not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.startswith(".") or not name.endswith(NIFTI_EXTENSIONS):
                continue
            if not path.exists():
                raise InvalidInputError(path, f"is a broken symbolic link (to {os.readlink(path)})")
            if path.is_file():
                yield path


def load_cohort(
    path: PathLike,
    participant_label: Iterable[str] | None = None,
    space: str | None = "auto",
    default_role: Role = "t1w",
    truth: bool = False,
    prefer: Prefer = "automatic",
) -> list[Case]:
    """List the cases under ``path`` (a folder of any supported layout, or a single NIfTI file).

    Parameters
    ----------
    participant_label:
        Keep only these subjects (labels with or without ``sub-``), BIDS-App style.
    space:
        Keep files of this BIDS ``space``. ``"auto"`` keeps ``MNI152NLin2009aSym`` when the dataset
        has it (ATLAS ships MNI and ``space-orig`` side by side) and everything otherwise;
        ``None`` keeps every space, one case per subject, session and space.
    default_role:
        What a non-BIDS file whose name says nothing (``r001s001.nii.gz``) is: a T1w image or,
        for folders of predictions, a mask.
    truth:
        The masks are read as the truth: lesionkit's own outputs (``desc-lesionkit`` masks and
        probability maps) are skipped.
    prefer:
        A case with a mask corrected by hand (``desc-corrected``, see :func:`corrected_mask_path`) beside
        its other mask uses the ``"automatic"`` one (default: results as before the review) or the
        ``"corrected"`` one. A case whose only mask is a corrected one uses it either way.

    Raises :class:`InvalidInputError` for a missing or unreadable folder, a broken link, two files of one
    role for one subject and session (except R1.1 ``*_LesionSmooth_N`` masks), one subject id under two
    sites, and a folder without any case.
    """
    root = Path(path)
    if not root.exists():
        raise InvalidInputError(root, "does not exist")
    files = [root] if root.is_file() else list(_walk(root))
    if root.is_file():
        if not _is_nifti(root):
            raise InvalidInputError(root, "is not a NIfTI file (.nii or .nii.gz)")
        root = root.parent
    if prefer not in ("automatic", "corrected"):
        raise ValueError(f"prefer must be 'automatic' or 'corrected', not {prefer!r}")
    wanted = {label.removeprefix("sub-") for label in participant_label} if participant_label else None
    entries = _gather(files, root, default_role, truth, wanted)
    if not entries:
        raise InvalidInputError(path, "no cases found (expected ATLAS, BIDS, derivatives, R1.1 or flat NIfTI files)")
    spaces = {key[2] for key in entries}
    if space == "auto":
        space = MNI_SPACE if MNI_SPACE in spaces else None
    cache: dict[Path, dict[str, dict[str, str]]] = {}
    cases = [_case(key, entry, prefer, root, cache) for key, entry in entries.items()
             if space is None or key[2] == space]
    if not cases:
        raise InvalidInputError(path, f"no cases in space {space!r} (spaces found: {sorted(map(str, spaces))})")
    return sorted(cases, key=lambda c: (c.cohort or "", c.subject, c.session or "", c.space or ""))


_Key = tuple[str, str | None, str | None]  # (subject, session, space)


def _gather(files: Iterable[Path], root: Path, default_role: Role, truth: bool, wanted: set[str] | None
            ) -> dict[_Key, _Entry]:
    """The files of each (subject, session, space), in file order; one site per subject."""
    entries: dict[_Key, _Entry] = {}
    sites: dict[str, tuple[str | None, Path]] = {}  # subject -> (site, first file)
    folders: dict[Path, tuple[str | None, str | None]] = {}  # a folder's (cohort, split), found once
    for file in files:
        found = _classify(file, default_role, truth)
        if found is None:
            continue
        subject, session, file_space, role = found
        if wanted is not None and subject not in wanted:
            continue
        if file.parent not in folders:
            folders[file.parent] = _cohort_of(file, root)
        cohort, split = folders[file.parent]
        r11 = _R11_NAME.search(file.name)
        if cohort is None and r11 is not None:
            cohort = r11.group(1).lower()  # R1.1 site code
        site, other = sites.setdefault(subject, (cohort, file))
        if site != cohort:
            raise InvalidInputError(
                file, f"sub-{subject} is also under another site ({site or 'no site folder'}: {other}); one "
                "subject id must belong to one site")
        entry = entries.setdefault((subject, session, file_space), _Entry(cohort=cohort, split=split))
        _add_file(entry, file, role, subject, session)
    return entries


def _add_file(entry: _Entry, file: Path, role: str, subject: str, session: str | None) -> None:
    """Put ``file`` in its role's slot of ``entry``; a second file of one role is refused (R1.1 lesions aside)."""
    label = _label(subject, session)
    if role == "t1w":
        if entry.t1w is not None:
            raise InvalidInputError(file, f"second T1w image for sub-{subject} (first: {entry.t1w})")
        entry.t1w = file
    elif role == "mask" and is_corrected_mask(file):
        if entry.corrected is not None:
            raise InvalidInputError(file, f"second corrected mask for {label} (first: {entry.corrected})")
        entry.corrected = file
    elif role == "mask":
        if entry.masks and not all(_R11_LESION.search(split_extension(p.name)[0]) for p in (*entry.masks, file)):
            raise InvalidInputError(
                file, f"second lesion mask for {label} (first: {entry.masks[0]}); give one "
                "mask per subject and session (only ATLAS R1.1 *_LesionSmooth_N masks are merged)")
        entry.masks.append(file)
    else:
        if entry.probseg is not None:
            raise InvalidInputError(file, f"second probability map for {label} (first: {entry.probseg})")
        entry.probseg = file


def _metadata(subject: str, anchor: Path | None, root: Path, cache: dict[Path, dict[str, dict[str, str]]]
              ) -> dict[str, str]:
    """The subject's row of the nearest ``participants.tsv`` from ``anchor``'s folder up to ``root``."""
    if anchor is None:
        return {}
    for folder in [anchor.parent, *anchor.parents]:
        rows = _participants(folder, cache)
        if subject in rows:
            return dict(rows[subject])
        if folder == root:
            break
    return {}


def _case(key: _Key, entry: _Entry, prefer: Prefer, root: Path, cache: dict[Path, dict[str, dict[str, str]]]
          ) -> Case:
    subject, session, file_space = key
    masks = tuple(sorted(entry.masks, key=_mask_order))
    if entry.corrected is not None and (prefer == "corrected" or not masks):
        masks = (entry.corrected,)
    metadata = _metadata(subject, entry.t1w or (masks[0] if masks else entry.probseg), root, cache)
    if entry.split:
        metadata.setdefault("split", entry.split)
    return Case(subject=subject, t1w=entry.t1w, mask=masks[0] if masks else None, session=session,
                cohort=entry.cohort, space=file_space, probseg=entry.probseg, mask_parts=masks, metadata=metadata)


def _label(subject: str, session: str | None) -> str:
    return f"sub-{subject}" + (f"_ses-{session}" if session else "")


def _mask_order(path: Path) -> tuple[int, str]:
    """R1.1 order: ``LesionSmooth`` before ``LesionSmooth_1`` before ``LesionSmooth_2``..."""
    stem, _ = split_extension(path.name)
    match = re.search(r"_(\d+)$", stem)
    return (int(match.group(1)) + 1 if match else 0, path.name)
