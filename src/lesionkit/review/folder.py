"""A derivatives folder under review: what the app (or a Python user) can ask and do, one call each.

>>> folder = ReviewFolder("derivatives/lesionkit", t1="ATLAS_2/Training", reviewer="ada")
>>> [row["id"] for row in folder.listing()]          # flagged cases first
>>> folder.save_drawing("sub-r001s001_ses-1", payload)  # what the viewer's Save button sends
>>> folder.set_status("sub-r001s001_ses-1", "accepted", version=folder.version(case))
"""

from __future__ import annotations

import getpass
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lesionkit.io import InvalidInputError, file_sha256, load_mask
from lesionkit.review.cases import ReviewCase, discover_cases, sidecar_path
from lesionkit.review.corrections import Correction, StaleVersionError, write_correction
from lesionkit.review.lesions import lesion_table
from lesionkit.review.locking import folder_lock
from lesionkit.review.payload import decode_drawing
from lesionkit.review.qc_table import QC_TABLE
from lesionkit.review.status import STATUSES, Decision, read_decisions, write_decision
from lesionkit.review.voxel_order import from_niivue, niivue_order
from lesionkit.typing import PathLike

__all__ = ["CaseNotFoundError", "ReviewFolder", "check_reviewer", "default_reviewer"]

#: What a case id in a request may look like; anything else is not looked up at all.
_CASE_ID = re.compile(r"^sub-[A-Za-z0-9]+(?:_ses-[A-Za-z0-9]+)?(?:_space-[A-Za-z0-9]+)?$")


class CaseNotFoundError(KeyError):
    """No case of that id in the folder (HTTP 404)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "no such case"


def default_reviewer() -> str:
    """The login name, as the reviewer when none is given."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "unknown"


def check_reviewer(name: str) -> str:
    """A reviewer name as stored: 1-80 printable characters, surrounding spaces removed."""
    name = (name or "").strip()
    if not name or len(name) > 80 or not name.isprintable():
        raise ValueError("the reviewer name must be 1-80 printable characters")
    return name


class ReviewFolder:
    """The cases of a derivatives folder, their corrections and decisions (found once, at start)."""

    def __init__(self, root: PathLike, t1: PathLike | Sequence[PathLike] | None = None,
                 reviewer: str | None = None) -> None:
        self.root = Path(root)
        self.reviewer = check_reviewer(reviewer) if reviewer else default_reviewer()
        self.cases, self.notes = discover_cases(self.root, t1)
        self.has_qc = any(case.qc is not None for case in self.cases) or (self.root / QC_TABLE).is_file()
        self._by_id = {case.id: case for case in self.cases}
        self._voxels: dict[tuple[str, int, int], int] = {}

    # --- looking ---------------------------------------------------------------------------------------

    def case(self, case_id: str) -> ReviewCase:
        """The case of ``case_id``; :class:`CaseNotFoundError` for an unknown or malformed id (a path, ``..``)."""
        if not isinstance(case_id, str) or not _CASE_ID.match(case_id) or case_id not in self._by_id:
            raise CaseNotFoundError(f"no case {case_id!r} in {self.root}")
        return self._by_id[case_id]

    def current_mask(self, case: ReviewCase) -> Path:
        """The corrected mask if there is one, else the automatic one."""
        return case.corrected if case.corrected.is_file() else case.mask

    def version(self, case: ReviewCase) -> str:
        """The version (SHA-256) of :meth:`current_mask`; a save must name it."""
        return file_sha256(self.current_mask(case))

    def _lesion_voxels(self, path: Path) -> int:
        """Voxels of a mask: its sidecar's ``LesionVoxels`` when the sidecar is not older, else counted."""
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        if key not in self._voxels:
            count = None
            sidecar = sidecar_path(path)
            try:
                if sidecar.stat().st_mtime_ns >= stat.st_mtime_ns:
                    value = json.loads(sidecar.read_text(encoding="utf-8")).get("LesionVoxels")
                    count = value if isinstance(value, int) and not isinstance(value, bool) else None
            except (OSError, ValueError, AttributeError):
                count = None
            if count is None:
                count = int(np.count_nonzero(np.asanyarray(load_mask(path).dataobj)))
            self._voxels[key] = count
        return self._voxels[key]

    def summary(self, case: ReviewCase, decisions: Mapping[str, Decision] | None = None) -> dict[str, Any]:
        """What the case list shows of one case."""
        decisions = read_decisions(self.root) if decisions is None else decisions
        corrected = case.corrected.is_file()
        decision = decisions.get(case.id)
        qc = case.qc
        problem, volumes = None, {"automatic_mm3": None, "corrected_mm3": None}
        try:
            volumes["automatic_mm3"] = round(self._lesion_voxels(case.mask) * case.voxel_mm3, 1)
            if corrected:
                volumes["corrected_mm3"] = round(self._lesion_voxels(case.corrected) * case.voxel_mm3, 1)
        except InvalidInputError as error:  # one unreadable mask must not hide the other cases
            problem = str(error)
        return {
            "id": case.id, "subject": case.case.subject, "session": case.case.session, "space": case.case.space,
            "qc_flag": qc.flag if qc else None, "qc_score": qc.score if qc else None,
            "qc_reasons": list(qc.reasons) if qc else [],
            **volumes, "problem": problem, "corrected": corrected,
            "status": decision.status if decision else "to review",
            "reviewer": decision.reviewer if decision else None,
            "decided": decision.time if decision else None,
            "background_kind": case.background_kind,
        }

    def listing(self) -> list[dict[str, Any]]:
        """Every case, those flagged by QC first, then by QC score (most suspect first), then by id."""
        decisions = read_decisions(self.root)

        def order(case: ReviewCase) -> tuple:
            qc = case.qc
            rank = 2 if qc is None else (0 if qc.suspect else 1)
            score = -(qc.score if qc is not None and qc.score is not None else -1.0)
            return rank, score, case.id

        return [self.summary(case, decisions) for case in sorted(self.cases, key=order)]

    def detail(self, case_id: str) -> dict[str, Any]:
        """What the viewer needs of one case: the summary, the version, the lesions and niivue's voxel order."""
        case = self.case(case_id)
        current = self.current_mask(case)
        mask = load_mask(current)
        order = niivue_order(case.affine, case.shape)
        correction = {}
        if current == case.corrected:
            try:
                correction = json.loads(sidecar_path(current).read_text(encoding="utf-8")).get("Correction", {})
            except (OSError, ValueError, AttributeError):
                correction = {}
        return {
            **self.summary(case), "version": file_sha256(current), "shown_mask": current.name,
            "automatic_mask": case.mask.name, "corrected_mask": case.corrected.name,
            "background": case.background.name, "background_note": case.background_note,
            "lesions": lesion_table(np.asanyarray(mask.dataobj), case.affine),
            "lesion_voxels": int(np.count_nonzero(np.asanyarray(mask.dataobj))),
            "grid": {"shape": list(case.shape), "dims_ras": list(order.shape), "perm_ras": order.perm_ras},
            "correction": correction,
        }

    # --- doing -----------------------------------------------------------------------------------------

    def save_correction(self, case_id: str, mask: np.ndarray, *, base_version: str,
                        reviewer: str | None = None) -> Correction:
        """Write ``mask`` (boolean, on the automatic mask's grid and voxel order) as the case's correction;
        see :func:`lesionkit.review.corrections.write_correction` for the checks."""
        case = self.case(case_id)
        return write_correction(self.root, case, mask, base_version=base_version,
                                reviewer=check_reviewer(reviewer) if reviewer else self.reviewer)

    def save_drawing(self, case_id: str, payload: Mapping[str, Any]) -> Correction:
        """Decode what the viewer sends (:mod:`lesionkit.review.payload`: niivue's bitmap in its voxel order,
        ``base_version``, optional ``reviewer``), put it back on the mask's grid and save it."""
        from lesionkit.review.payload import PayloadError

        case = self.case(case_id)
        base = payload.get("base_version")
        if not isinstance(base, str) or not re.fullmatch(r"[0-9a-f]{64}", base):
            raise PayloadError("base_version must be the SHA-256 (64 hex digits) of the mask the editor loaded")
        reviewer = payload.get("reviewer")
        if reviewer is not None and not isinstance(reviewer, str):
            raise PayloadError("reviewer must be a string")
        try:
            reviewer = check_reviewer(reviewer) if reviewer else None
        except ValueError as error:
            raise PayloadError(str(error)) from None
        order = niivue_order(case.affine, case.shape)
        drawing = decode_drawing(payload, order)
        return self.save_correction(case_id, from_niivue(drawing, case.affine, case.shape), base_version=base,
                                    reviewer=reviewer)

    def set_status(self, case_id: str, status: str, *, version: str, reviewer: str | None = None) -> Decision | None:
        """Accept or reject the case's current mask (``"todo"`` clears the decision). ``version`` must be the
        current one: a decision about a mask the reviewer has not seen is refused (:class:`StaleVersionError`)."""
        case = self.case(case_id)
        if status not in (*STATUSES, "todo"):
            raise ValueError(f"status must be one of {', '.join(STATUSES)} or todo")
        who = check_reviewer(reviewer) if reviewer else self.reviewer
        with folder_lock(self.root):
            current = self.version(case)
            if version != current:
                raise StaleVersionError(f"{case.id} changed after this page loaded it: reload it before deciding",
                                        current)
            return write_decision(self.root, case.id, status, who, current)
