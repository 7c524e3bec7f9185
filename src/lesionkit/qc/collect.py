"""QC of a whole segmentation folder: gather each case's features, add the cohort part, score, write.

Two sources of per-case features:

* the ``qc`` object that ``lesionkit segment``/``run`` put in a mask's JSON sidecar at segment time
  (``*_label-L_desc-lesionkit_mask.json``): every feature, member agreement included;
* otherwise the mask and its probability map (``*_probseg.nii.gz``) on disk, recomputed here: every feature
  but member agreement, which needs the member predictions and so is only known when it was recorded
  (:attr:`QCCollection.without_members` counts those cases).

:func:`finish_qc` is what a batch runs when its last subject is done, :func:`collect_qc` what
``lesionkit qc`` runs; both write ``qc.tsv`` and, in place, the sidecars' ``qc`` objects
(:mod:`lesionkit.qc.tables`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lesionkit.core import DEFAULT_THRESHOLD, binarize_probability
from lesionkit.io import MNI_SPACE, Case, InvalidInputError, load_cohort, load_mask, load_probability, parse_bids_name
from lesionkit.qc.cohort import COHORT_FEATURES, cohort_outliers
from lesionkit.qc.features import FEATURES, case_features
from lesionkit.qc.score import QCWeights, default_weights, score_case
from lesionkit.qc.tables import QC_TABLE, json_clean, update_sidecar, write_qc_table
from lesionkit.typing import PathLike

__all__ = ["QCCase", "QCCollection", "collect_qc", "finish_qc", "qc_record", "read_scores", "recorded_cases"]

_SIDECAR_GLOB = "sub-*/**/*_label-L_desc-lesionkit_mask.json"


@dataclass
class QCCase:
    """One case's identity, files and per-case features."""

    subject: str
    session: str | None
    mask: Path
    features: dict[str, float]
    sidecar: Path | None = None
    members: list[str] = field(default_factory=list)
    recorded: bool = True
    """Features from the sidecar (True) or recomputed from the files (False)."""

    @property
    def case_id(self) -> str:
        return f"sub-{self.subject}" + (f"_ses-{self.session}" if self.session else "")


@dataclass
class QCCollection:
    """What :func:`collect_qc`/:func:`finish_qc` wrote: the rows of ``qc.tsv``, its path, and counts."""

    rows: list[dict[str, Any]]
    table: Path
    recomputed: int = 0
    """Cases whose features were recomputed from the mask and probability map."""
    without_members: int = 0
    """Cases without recorded member predictions (no member agreement features)."""
    sidecars_updated: int = 0

    @property
    def flagged(self) -> list[str]:
        return [row["case_id"] for row in self.rows if row["qc_flag"] == "check"]


def qc_record(features: Mapping[str, float], members: Sequence[str] = (), cohort: Mapping[str, Any] | None = None,
              weights: QCWeights | None = None) -> dict[str, Any]:
    """The sidecar ``qc`` object of one case (see :mod:`lesionkit.qc.tables`), scored with ``weights``."""
    weights = weights or default_weights()
    result = score_case({**features, **(cohort or {})}, weights)
    return json_clean({"score": result.score, "flag": result.flag, "reasons": result.reasons,
                       "features": {name: features.get(name) for name in FEATURES},
                       "cohort": dict(cohort) if cohort else None, "members": list(members),
                       "weights": weights.fit.get("id", "unnamed")})


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else float("nan")


def recorded_cases(root: PathLike) -> list[QCCase]:
    """Cases under a derivatives folder whose mask sidecar holds a ``qc`` object with features."""
    found = []
    for sidecar in sorted(Path(root).glob(_SIDECAR_GLOB)):
        entities = parse_bids_name(sidecar.name)
        try:
            qc = json.loads(sidecar.read_text(encoding="utf-8")).get("qc")
        except (OSError, ValueError, AttributeError):
            continue
        if entities is None or not isinstance(qc, dict) or not isinstance(qc.get("features"), dict):
            continue
        features = {name: _number(qc["features"].get(name)) for name in FEATURES}
        mask = sidecar.with_name(sidecar.name.removesuffix(".json") + ".nii.gz")
        found.append(QCCase(entities["sub"], entities.get("ses"), mask, features, sidecar,
                            [str(m) for m in qc.get("members") or []]))
    return found


def _probseg_of(case: Case) -> Path | None:
    if case.probseg is not None:
        return case.probseg
    if case.mask is not None and case.mask.name.endswith("_mask.nii.gz"):
        candidate = case.mask.with_name(case.mask.name.replace("_mask.nii.gz", "_probseg.nii.gz"))
        return candidate if candidate.is_file() else None
    return None


def _threshold_of(sidecar: Path | None) -> tuple[float, float]:
    """(threshold, minimum lesion size) a lesionkit mask was made with, from its sidecar (else
    :data:`~lesionkit.core.DEFAULT_THRESHOLD`, 0)."""
    try:
        record = json.loads(sidecar.read_text(encoding="utf-8")) if sidecar and sidecar.is_file() else {}
    except (OSError, ValueError):
        record = {}
    record = record if isinstance(record, dict) else {}
    threshold = record.get("Threshold", DEFAULT_THRESHOLD)
    min_size = record.get("MinimumLesionSizeMM3", 0.0)
    return (float(threshold) if isinstance(threshold, int | float) else DEFAULT_THRESHOLD,
            float(min_size) if isinstance(min_size, int | float) else 0.0)


def recompute_case(case: Case) -> QCCase:
    """Features of a case from its mask and probability map on disk (no members: see the module docstring)."""
    if case.mask is None and case.probseg is None:
        raise InvalidInputError(case.t1w, f"case {case.id} has neither a mask nor a probability map")
    probseg = _probseg_of(case)
    sidecar = case.mask.with_name(case.mask.name.replace(".nii.gz", ".json")) if case.mask else None
    threshold, min_size = _threshold_of(sidecar)
    probability = load_probability(probseg) if probseg is not None else None
    if case.mask is not None:
        image = load_mask(case.mask, reference=probability)
        mask = np.asanyarray(image.dataobj)
    else:
        image = probability
        mask = binarize_probability(np.asanyarray(probability.dataobj), threshold).astype(np.uint8)
    prob = np.asanyarray(probability.dataobj) if probability is not None else None
    features = case_features(prob, mask, None, affine=image.affine, threshold=threshold, min_size_mm3=min_size)
    return QCCase(case.subject, case.session, case.mask or probseg, features,
                  sidecar if sidecar is not None and sidecar.is_file() else None, recorded=False)


def _discover(folder: Path, participant_label: Iterable[str] | None) -> list[QCCase]:
    """Every case of one folder: recorded ones first, the others recomputed (MNI space preferred)."""
    wanted = {label.removeprefix("sub-") for label in participant_label} if participant_label else None
    recorded = [c for c in recorded_cases(folder) if wanted is None or c.subject in wanted]
    have = {(c.subject, c.session) for c in recorded}
    try:
        listed = load_cohort(folder, participant_label, space=None, default_role="mask")
    except InvalidInputError:
        if recorded:
            return recorded
        raise
    listed = [c for c in listed if (c.mask or c.probseg) and (c.subject, c.session) not in have]
    by_key: dict[tuple[str, str | None], Case] = {}
    for case in listed:  # one per subject and session: the MNI one, where the template regions apply
        key = (case.subject, case.session)
        if key not in by_key or case.space == MNI_SPACE:
            by_key[key] = case
    return recorded + [recompute_case(c) for c in by_key.values()]


def _score(cases: Sequence[QCCase], weights: QCWeights, expect_lesions: bool) -> list[tuple[QCCase, dict[str, Any]]]:
    """Add the cohort part to every case and score it: (case, its sidecar ``qc`` object). ``expect_lesions``: the
    researcher knows every subject has a lesion (a stroke cohort), so an empty mask is a failure to check."""
    volumes = [c.features.get("volume_mm3", math.nan) for c in cases]
    counts = [c.features.get("n_lesions", math.nan) for c in cases]
    z = cohort_outliers(volumes, counts)
    out = []
    for i, case in enumerate(cases):
        cohort = {name: float(z[name][i]) for name in COHORT_FEATURES}
        cohort["cases"] = len(cases)
        if expect_lesions:
            cohort["expect_lesion"] = 1.0
        out.append((case, qc_record(case.features, case.members, cohort, weights)))
    return out


def _row(case: QCCase, qc: Mapping[str, Any], root: Path) -> dict[str, Any]:
    try:
        mask = case.mask.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        mask = str(case.mask)
    row = {"case_id": case.case_id, "subject": f"sub-{case.subject}", "session": case.session or "",
           "qc_score": qc["score"], "qc_flag": qc["flag"], "qc_reasons": qc["reasons"], "mask": mask}
    row.update({name: qc["features"].get(name) for name in FEATURES})
    row.update({name: (qc["cohort"] or {}).get(name) for name in COHORT_FEATURES})
    return row


def _write(cases: Sequence[QCCase], out: Path, update_sidecars: bool, weights: QCWeights, expect_lesions: bool
           ) -> QCCollection:
    scored = _score(cases, weights, expect_lesions)
    rows = [_row(case, qc, out) for case, qc in scored]  # everything is computed before the first write
    updated = 0
    if update_sidecars:
        for case, qc in scored:
            if case.sidecar is not None:
                update_sidecar(case.sidecar, qc)
                updated += 1
    table = write_qc_table(rows, out / QC_TABLE)
    return QCCollection(rows, table, recomputed=sum(not c.recorded for c in cases),
                        without_members=sum(not c.features.get("members", 0) >= 2 for c in cases),
                        sidecars_updated=updated)


def finish_qc(root: PathLike, weights: QCWeights | None = None, *, expect_lesions: bool = False
              ) -> QCCollection | None:
    """Score every recorded case under a derivatives folder against the others; write ``qc.tsv`` and the
    sidecars. None (nothing written) when no sidecar holds QC features. ``expect_lesions``: every subject is
    known to have a lesion, so an empty mask is flagged ``check``."""
    root = Path(root)
    cases = recorded_cases(root)
    if not cases:
        return None
    return _write(cases, root, True, weights or default_weights(), expect_lesions)


def collect_qc(
    folders: Sequence[PathLike],
    out: PathLike | None = None,
    *,
    participant_label: Iterable[str] | None = None,
    weights: QCWeights | None = None,
    expect_lesions: bool = False,
) -> QCCollection:
    """QC of existing segmentation folders, scored as one cohort (see the module docstring).

    ``expect_lesions``: every subject is known to have a lesion (a stroke cohort): an empty mask is flagged ``check``.

    ``qc.tsv`` goes to ``out`` (default: the one folder given). The sidecars are updated only when the
    table goes into the folder itself (``out`` omitted or the same folder), never in a folder read from
    elsewhere. Raises :class:`~lesionkit.io.InvalidInputError` for a folder without segmentations.
    """
    if not folders:
        raise ValueError("collect_qc needs at least one folder")
    if out is None and len(folders) > 1:
        raise ValueError("several folders need an output folder for their qc.tsv")
    paths = [Path(f) for f in folders]
    out = Path(out) if out is not None else paths[0]
    in_place = len(paths) == 1 and out.resolve() == paths[0].resolve()
    cases: list[QCCase] = []
    for folder in paths:
        if not folder.is_dir():
            raise InvalidInputError(folder, "is not a folder of segmentations")
        cases += _discover(folder, participant_label)
    ids = [c.case_id for c in cases]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise InvalidInputError(paths[0], f"case(s) found in more than one folder: {', '.join(duplicated)}")
    return _write(cases, out, in_place, weights or default_weights(), expect_lesions)


def read_scores(root: PathLike) -> dict[str, tuple[float, str]] | None:
    """``case_id`` → (QC score, flag) of a segmentation folder: its ``qc.tsv``, else the sidecars' ``qc``
    objects; None when it has neither (nothing is computed or written)."""
    root = Path(root)
    if root.is_file():
        root = root.parent
    table = root / QC_TABLE
    if table.is_file():
        from lesionkit.qc.tables import read_qc_table

        rows = read_qc_table(table)
        return {str(c): (float(s), str(f)) for c, s, f in zip(rows["case_id"], rows["qc_score"], rows["qc_flag"],
                                                               strict=True) if math.isfinite(float(s))}
    scores = {}
    for sidecar in sorted(root.glob(_SIDECAR_GLOB)):
        entities = parse_bids_name(sidecar.name)
        try:
            qc = json.loads(sidecar.read_text(encoding="utf-8")).get("qc")
        except (OSError, ValueError, AttributeError):
            continue
        if entities and isinstance(qc, dict) and isinstance(qc.get("score"), int | float):
            case_id = f"sub-{entities['sub']}" + (f"_ses-{entities['ses']}" if entities.get("ses") else "")
            scores[case_id] = (float(qc["score"]), str(qc.get("flag", "")))
    return scores or None
