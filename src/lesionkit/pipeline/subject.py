"""``run_subject``: one subject's preprocess → segment → analyze, written as BIDS derivatives with provenance.

Steps, in order (any subset):

* ``preprocess``: a native T1w → MNI152NLin2009aSym like ATLAS (:func:`lesionkit.preprocess.preprocess_t1w`):
  the MNI T1w, brain mask, transforms, the input's lesion mask if it has one, and the QC figure. An input
  already on the MNI grid is preprocessed only when preprocessing is the only step asked for.
* ``segment``: :func:`lesionkit.pipeline.segment_t1w`: ``*_label-L_desc-lesionkit_{mask,probseg}`` on the
  input's grid (``space-<its space>``), and for a native input with ``analyze`` also in MNI space. With
  ``qc`` (the default) the mask's sidecar gets a ``qc`` object: the per-case QC features and a score from
  them alone (:mod:`lesionkit.qc`); a batch adds the cohort part and ``qc.tsv`` when it finishes.
* ``analyze``: the MNI mask's lesion and ROI-load tables (:func:`lesionkit.analysis.cohort.analyze_cohort`)
  and a montage figure.

Everything is written into a staging folder inside ``out`` and moved into place when the subject is done;
the provenance sidecar (:mod:`lesionkit.pipeline.provenance`) comes last, so a killed run leaves the
subject unfinished but never a half-written file in place, and a rerun skips finished subjects.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from lesionkit.io import MNI_SPACE, Case, InvalidInputError, derivative_path, load_case_mask, load_image, save_nifti
from lesionkit.io import write_text as _write_text
from lesionkit.pipeline.models import ModelRef, file_sha256, load_cached_model
from lesionkit.pipeline.provenance import provenance_key, record_matches, write_record
from lesionkit.pipeline.segment import is_mni_grid, native_space, segment_t1w
from lesionkit.typing import PathLike

__all__ = ["STAGING", "STEPS", "SubjectOptions", "SubjectResult", "run_subject", "subject_record"]

STEPS = ("preprocess", "segment", "analyze")
#: Folder inside an output root where subjects are assembled before their files are moved into place.
STAGING = ".lesionkit-staging"
_MASK = {"label": "L", "desc": "lesionkit"}

ModelArg = ModelRef | PathLike | Sequence[PathLike] | None


@dataclass
class SubjectResult:
    """What :func:`run_subject` did for one subject."""

    subject: str
    """The case id (``sub-X[_ses-Y]``)."""
    status: str
    """``done`` or ``skipped`` (outputs and provenance already matched)."""
    outputs: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SubjectOptions:
    """The parameters of one subject's run (see :func:`run_subject`); its provenance records them."""

    model: ModelRef | None = None
    tta: bool = False
    threshold: float | None = None
    min_size_mm3: float | None = None
    deface: bool = True
    qc: bool = True

    def parameters(self, steps: tuple[str, ...]) -> dict[str, Any]:
        """The parameters the steps use (None = the checkpoint's own value, which the model hash pins down)."""
        parameters: dict[str, Any] = {}
        if "preprocess" in steps:
            parameters.update(deface=self.deface)
        if "segment" in steps:
            parameters.update(tta=self.tta, threshold=self.threshold, min_size_mm3=self.min_size_mm3, qc=self.qc)
        return parameters


def _steps(steps: Sequence[str]) -> tuple[str, ...]:
    unknown = [s for s in steps if s not in STEPS]
    if unknown or not steps:
        raise ValueError(f"steps must be a non-empty subset of {STEPS}, got {list(steps)}")
    if "analyze" in steps and "segment" not in steps:
        raise ValueError("the analyze step needs the segment step (it analyses the segmentation)")
    return tuple(s for s in STEPS if s in steps)


def _model_ref(model: ModelArg) -> ModelRef:
    return model if isinstance(model, ModelRef) else ModelRef.from_paths(model)


def _record_path(out: Path, case: Case, steps: tuple[str, ...], grid: nib.spatialimages.SpatialImage) -> Path:
    """The sidecar that carries the subject's provenance: that of its last step's main output."""
    if "segment" in steps:
        space = native_space(grid, case.space)
        return derivative_path(out, case.subject, case.session, "mask", space=space, extension=".json", **_MASK)
    from lesionkit.preprocess.outputs import output_paths

    return output_paths(out, case.subject, case.session)["sidecar"]


def _input_hashes(case: Case, steps: tuple[str, ...]) -> dict[str, str]:
    hashes = {"t1w": file_sha256(case.t1w)}
    if "preprocess" in steps:  # the input's lesion mask is preprocessed with it
        for i, part in enumerate(case.mask_parts or ((case.mask,) if case.mask else ())):
            hashes[f"mask{i or ''}"] = file_sha256(part)
    return hashes


def subject_record(case: Case, out: PathLike, steps: Sequence[str], options: SubjectOptions
                   ) -> tuple[Path, dict[str, Any]]:
    """(provenance sidecar path, matched provenance) of ``case`` for these steps and parameters.

    :func:`run_subject` skips a subject when :func:`~lesionkit.pipeline.provenance.record_matches`
    holds for them; a batch asks the same before sending the subject anywhere.
    """
    steps = _steps(steps)
    if case.t1w is None:
        raise InvalidInputError(None, f"{case.id} has no T1w image")
    if not Path(case.t1w).is_file():
        raise InvalidInputError(case.t1w, "file does not exist")
    try:
        grid = nib.load(str(case.t1w))  # the header only: enough to name the outputs' space
    except Exception as exc:  # nibabel raises many types for a corrupt header
        raise InvalidInputError(case.t1w, f"cannot read the NIfTI header ({type(exc).__name__}: {exc})") from exc
    model = options.model.as_dict() if options.model is not None and "segment" in steps else None
    key = provenance_key(steps, _input_hashes(case, steps), model, options.parameters(steps))
    return _record_path(Path(out), case, steps, grid), key


def run_subject(
    case: Case,
    out: PathLike,
    steps: Sequence[str] = STEPS,
    *,
    model: ModelArg = None,
    tta: bool = False,
    threshold: float | None = None,
    min_size_mm3: float | None = None,
    deface: bool = True,
    qc: bool = True,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
) -> SubjectResult:
    """Run ``steps`` (see the module docstring) for one case and write its derivatives under ``out``.

    ``model``: checkpoint path(s) or a :class:`~lesionkit.pipeline.models.ModelRef` (default: the shipped
    model), loaded once per process. ``threshold``/``min_size_mm3`` default to the checkpoint's. ``deface``
    applies to the preprocessed T1w. ``qc`` records the per-case QC features in the mask's sidecar (without
    ``tta`` one more forward pass, for the flipped member). Without ``overwrite`` a subject whose outputs and
    provenance match is skipped. ``progress`` is called with the name of each step as it starts. Bad input raises
    :class:`~lesionkit.io.InvalidInputError` and leaves nothing of the subject behind.
    """
    steps = _steps(steps)
    options = SubjectOptions(_model_ref(model) if "segment" in steps else None, tta, threshold, min_size_mm3, deface,
                             qc)
    record, key = subject_record(case, out, steps, options)
    out = Path(out)
    if not overwrite and record_matches(record, key, out):
        return SubjectResult(case.id, "skipped")
    staging = out / STAGING / uuid.uuid4().hex
    try:
        seconds, warnings = _compute(case, staging, steps, options, progress)
        staged_record = staging / record.relative_to(out)  # the sidecar the provenance is added to
        sidecar = json.loads(staged_record.read_text(encoding="utf-8")) if staged_record.is_file() else {}
        moved = _move_into_place(staging, out, skip=record.relative_to(out))
        model_files = options.model.as_dict() if options.model else []
        details = {"outputs": [p.as_posix() for p in moved], "model_files": model_files,
                   "seconds": seconds, "finished": datetime.now(UTC).isoformat(timespec="seconds")}
        write_record(record, sidecar, key, **details)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        _remove_if_empty(staging.parent)
    return SubjectResult(case.id, "done", [out / p for p in moved] + [record], seconds, warnings)


def _compute(case: Case, staging: Path, steps, options: SubjectOptions, progress):
    """Write every output of the subject under ``staging``; returns (seconds per step, warnings)."""
    seconds: dict[str, float] = {}
    warnings: list[str] = []
    start = time.perf_counter()

    def begin(step: str) -> float:
        if progress is not None:
            progress(step)
        return time.perf_counter()

    image = load_image(case.t1w)
    preprocessing = None
    if "preprocess" in steps and (steps == ("preprocess",) or not is_mni_grid(image)):
        clock = begin("preprocess")
        detail = None if progress is None else (lambda name, index, total: progress(f"preprocess: {name}"))
        preprocessing, preprocessed, warning = _preprocess(case, image, staging, options.deface, detail)
        warnings += warning
        seconds["preprocess"] = round(time.perf_counter() - clock, 3)
    if "segment" in steps:
        clock = begin("segment")
        segmentation = segment_t1w(
            image, load_cached_model(options.model), tta=options.tta, threshold=options.threshold,
            min_size_mm3=options.min_size_mm3, preprocessing=preprocessing, qc=options.qc,
        )
        space = native_space(image, case.space)
        settings = {"Threshold": segmentation.threshold, "MinimumLesionSizeMM3": segmentation.min_size_mm3}
        qc = _qc_record(segmentation.qc) if segmentation.qc is not None else None
        written = _write_segmentation(staging, case, space, segmentation.probability, segmentation.mask,
                                      str(case.t1w), settings, qc)
        direct = segmentation.space == MNI_SPACE  # segmented on the input's own (MNI) grid
        mni_mask = written if direct else None
        if "analyze" in steps and not direct:
            reference = preprocessed.relative_to(staging).as_posix() if preprocessing else "MNI152NLin2009aSym"
            mni_mask = _write_segmentation(staging, case, MNI_SPACE, segmentation.probability_mni,
                                           segmentation.mask_mni, reference, settings)
        seconds["segment"] = round(time.perf_counter() - clock, 3)
    if "analyze" in steps:
        clock = begin("analyze")
        t1_mni = image if direct else segmentation.preprocessing.t1w_mni
        _analyze(staging, case, mni_mask, t1_mni)
        seconds["analyze"] = round(time.perf_counter() - clock, 3)
    seconds["total"] = round(time.perf_counter() - start, 3)
    return seconds, warnings


def _preprocess(case: Case, image: nib.Nifti1Image, staging: Path, deface: bool, progress=None):
    from lesionkit.preprocess import preprocess_t1w
    from lesionkit.preprocess.outputs import write_outputs
    from lesionkit.report.preprocess_qc import plot_preprocess_qc

    mask = load_case_mask(case) if (case.mask or case.mask_parts) else None
    result = preprocess_t1w(image, mask, deface=deface, progress=progress)
    paths = write_outputs(result, staging, case.subject, case.session)
    plot_preprocess_qc(result.t1w_mni, paths["qc"], mask_mni=result.mask_mni, brain_mask_mni=result.brain_mask_mni,
                       title=case.id)
    registration = next(step for step in result.steps if step["name"] == "registration")["parameters"]
    warnings = []
    if "fallback" in str(registration.get("initialisation_chosen", "")):
        qc = paths["qc"].relative_to(staging)
        warnings.append(f"{case.id}: every affine fit failed its sanity check; the rigid start was kept — check {qc}")
    return result, paths["t1w"], warnings


def _qc_record(qc: dict[str, Any]) -> dict[str, Any]:
    from lesionkit.qc import qc_record

    return qc_record(qc["features"], qc["members"])


def _write_segmentation(root: Path, case: Case, space: str, probability, mask, reference: str,
                        settings: dict[str, Any], qc: dict[str, Any] | None = None) -> Path:
    """The probability map and mask on one grid, with their sidecars (the mask's with ``qc`` when given);
    returns the mask's path."""
    common = {"Sources": [str(case.t1w)], "SpatialReference": reference}
    sidecars = {
        "probseg": {"Description": "lesion probability of the lesionkit segmentation model", **common},
        "mask": {"Description": "lesion mask: probability >= Threshold, without lesions smaller than "
                 "MinimumLesionSizeMM3 (6-connected)", "Type": "Lesion", **common, **settings,
                 "LesionVoxels": int(np.count_nonzero(np.asarray(mask.dataobj)))},
    }
    if qc is not None:
        sidecars["mask"]["qc"] = qc
    for suffix, image in (("probseg", probability), ("mask", mask)):
        path = derivative_path(root, case.subject, case.session, suffix, space=space, **_MASK)
        save_nifti(image, path, dtype=np.float32 if suffix == "probseg" else np.uint8)
        sidecar = path.with_name(path.name.replace(".nii.gz", ".json"))
        _write_text(sidecar, json.dumps(sidecars[suffix], indent=2) + "\n")
    return path


def _analyze(root: Path, case: Case, mni_mask: Path, t1_mni: nib.Nifti1Image) -> None:
    from lesionkit.analysis.cohort import analyze_cohort
    from lesionkit.report.analysis import subject_montage

    tables = analyze_cohort([Case(subject=case.subject, session=case.session, mask=mni_mask, space=MNI_SPACE)])
    for suffix, table in (("lesions", tables.lesions), ("roiload", tables.roi_load)):
        path = derivative_path(root, case.subject, case.session, suffix, space=MNI_SPACE, desc="lesionkit",
                               extension=".tsv")
        _write_text(path, table.to_csv(sep="\t", index=False, lineterminator="\n"))
    figure = derivative_path(root, case.subject, case.session, "mask", space=MNI_SPACE, extension=".png",
                             datatype="figures", **_MASK)
    subject_montage(t1_mni, load_case_mask(Case(subject=case.subject, mask=mni_mask)), figure, title=case.id)


def _move_into_place(staging: Path, out: Path, skip: Path) -> list[Path]:
    """Move every file from ``staging`` to the same relative place under ``out`` (``skip`` is left)."""
    moved = []
    for source in sorted(p for p in staging.rglob("*") if p.is_file()):
        relative = source.relative_to(staging)
        if relative == skip:
            continue
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        moved.append(relative)
    return moved


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # other subjects are still being assembled there
