"""``lesion_symptom_map``: masks + behaviour table in, maps, tables, provenance and report out, in one call.

Everything is read, checked and computed before the first file is written; every file is then written
atomically (temporary name, then rename), so a refused input or an interrupted analysis leaves no
half-written output. Output names (in ``output``)::

    lsm_desc-<test>_stat.nii.gz             statistic (positive = lesioned subjects score worse)
    lsm_desc-<test>_p.nii.gz                uncorrected p (1 where untested)
    lsm_desc-<test><corr>_pcorr.nii.gz      FWE/cFWE permutation p, or FDR q
    lsm_desc-<test><corr>_thresholded.nii.gz  statistic where significant, 0 elsewhere
    lsm_desc-lesioned_count.nii.gz          lesioned subjects per tested voxel
    lsm_desc-power_mde.nii.gz               minimum detectable effect (Cohen's d, 80 % power)
    lsm_clusters.tsv, lsm_regions.tsv, lsm_subjects.tsv, lsm_null.tsv, lsm_provenance.json,
    lsm_figure.png, lsm_report.html
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from lesionkit.analysis.lsm.design import lesion_matrix, match_subjects, read_behavior, subject_label
from lesionkit.analysis.lsm.mapping import LSMResult, LSMSettings, run_mapping
from lesionkit.analysis.lsm.outputs import atlases_for, cluster_table, region_table, result_maps
from lesionkit.analysis.roi import Atlas, load_atlas
from lesionkit.io import (
    Case,
    InvalidInputError,
    atomic_path,
    check_same_grid,
    file_sha256,
    load_nifti,
    save_nifti,
    write_text,
)
from lesionkit.typing import PathLike

__all__ = ["LSMOutput", "lesion_symptom_map", "load_parcellation"]

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class LSMOutput:
    """The result and the files written."""

    result: LSMResult
    clusters: pd.DataFrame
    regions: pd.DataFrame
    files: dict[str, Path]
    unmatched_rows: list[str]


def load_parcellation(path: PathLike, labels: PathLike | None, reference: nib.Nifti1Image) -> Atlas:
    """A user parcellation on ``reference``'s grid; without a label table its regions are named by number."""
    if labels is not None:
        return load_atlas(path, labels, reference)
    img = load_nifti(path)
    check_same_grid(reference, img)
    data = np.asanyarray(img.dataobj)
    if not np.all(np.isfinite(data)) or data.min() < 0 or not np.array_equal(data, np.round(data)):
        raise InvalidInputError(path, "a parcellation needs non-negative integer labels")
    data = data.astype(np.int64)
    names = {int(v): str(int(v)) for v in np.unique(data) if v}
    return Atlas(Path(path).name.split(".")[0], data, names, img.affine.copy())


def _source_name(source: Case | PathLike) -> tuple[str, Path]:
    if isinstance(source, Case):
        return source.subject, Path(source.mask)
    path = Path(source)
    name = path.name.split(".")[0]
    for suffix in ("_mask", "_lesion", "_label-L"):
        name = name.split(suffix)[0]
    return subject_label(name.split("_ses-")[0]), path


def _check_unique(subjects: list[str], files: list[Path]) -> None:
    seen: dict[str, Path] = {}
    for subject, file in zip(subjects, files, strict=True):
        if subject in seen:
            raise InvalidInputError(file, f"is a second mask of subject {subject} (also {seen[subject]}): give one "
                                    "mask per subject (--participant-label, or one session's folder)")
        seen[subject] = file


def _provenance(output: LSMOutput, files: list[Path], table: Path, seconds: float) -> dict:
    import scipy

    from lesionkit import __version__

    r = output.result
    versions = {"lesionkit": __version__, "numpy": np.__version__, "scipy": scipy.__version__}
    if r.settings.test == "svr":
        import sklearn

        versions["scikit-learn"] = sklearn.__version__
    null = {} if r.null is None else {"permutations": r.null.n, "max_p95": float(np.quantile(r.null.maxima, 0.95))}
    return {
        "GeneratedBy": "lesionkit lsm", "versions": versions, "settings": r.settings.as_dict(),
        "score": r.behavior.score_name, "covariates": r.behavior.covariate_names,
        "subjects": len(r.behavior.subjects), "min_lesioned": r.matrix.min_lesioned,
        "tested_voxels": int(r.matrix.voxels.size), "patches": int(r.matrix.patches.shape[1]),
        "threshold": r.threshold, "significant_voxels": r.significant_voxels, "null": null,
        "unmatched_table_rows": output.unmatched_rows, "seconds": round(seconds, 2),
        "inputs": {"table": {"path": str(table), "sha256": file_sha256(table)},
                   "masks": [{"path": str(f), "sha256": file_sha256(f)} for f in files]},
    }


def _write(output: LSMOutput, maps: dict, figure: bytes | None, page: str | None, folder: Path, prov: dict) -> None:
    r, s = output.result, output.result.settings
    tag = f"{s.test}{s.correction}"
    names = {"stat": f"desc-{s.test}_stat", "p": f"desc-{s.test}_p", "pcorr": f"desc-{tag}_pcorr",
             "thresholded": f"desc-{tag}_thresholded", "lesioned": "desc-lesioned_count", "mde": "desc-power_mde"}
    for key, stem in names.items():
        output.files[key] = save_nifti(maps[key], folder / f"lsm_{stem}.nii.gz", r.matrix.affine, dtype=np.float32)
    subjects = pd.DataFrame({"participant_id": [f"sub-{x}" for x in r.behavior.subjects],
                             r.behavior.score_name: r.behavior.scores, "lesion_volume_mm3": r.matrix.lesion_volume})
    null = pd.DataFrame({"max": [], "vth": []}) if r.null is None else pd.DataFrame({"max": r.null.maxima,
                                                                                     "vth": r.null.vth})
    for key, frame in (("clusters", output.clusters), ("regions", output.regions), ("subjects", subjects),
                       ("null", null)):
        output.files[key] = write_text(folder / f"lsm_{key}.tsv", frame.to_csv(sep="\t", index=False))
    if figure is not None:
        with atomic_path(folder / "lsm_figure.png") as tmp:
            tmp.write_bytes(figure)
        output.files["figure"] = folder / "lsm_figure.png"
        output.files["report"] = write_text(folder / "lsm_report.html", page)
    output.files["provenance"] = write_text(folder / "lsm_provenance.json", json.dumps(prov, indent=2) + "\n")


def lesion_symptom_map(
    masks: Sequence[Case | PathLike],
    table: PathLike,
    output: PathLike,
    settings: LSMSettings | None = None,
    *,
    score: str | None = None,
    subject_column: str | None = None,
    covariates: Sequence[str] = (),
    min_lesioned: float = 0.1,
    parcellation: PathLike | None = None,
    parcellation_labels: PathLike | None = None,
    report: bool = True,
    progress: Progress | None = None,
) -> LSMOutput:
    """Map ``score`` of ``table`` onto the voxels of ``masks`` and write the results into ``output``.

    ``masks`` are :class:`~lesionkit.io.Case` objects (from :func:`~lesionkit.io.collect_cases`) or mask
    files named by subject; ``settings`` holds the test, correction, permutations, seed… (defaults:
    Brunner–Munzel, permutation FWE, 1,000 permutations, seed 0). Raises
    :class:`~lesionkit.io.InvalidInputError` for bad data and ValueError for unusable settings, before
    anything is written.
    """
    started = time.perf_counter()
    settings = settings or LSMSettings()
    settings.check()
    subjects, files = map(list, zip(*(_source_name(m) for m in masks), strict=True)) if masks else ([], [])
    _check_unique(subjects, files)
    frame = read_behavior(table, subject_column)
    missing = [s for s in subjects if s not in frame.index]
    if missing:  # before reading any mask: the cheapest refusal first
        match_subjects(subjects, frame, table, score=score)
    tick = (lambda n: progress("reading masks", n, len(masks))) if progress else None
    matrix = lesion_matrix(list(masks), min_lesioned, progress=tick)
    behavior = match_subjects(subjects, frame, table, score=score, covariates=covariates,
                              lesion_volume=matrix.lesion_volume)
    if settings.test in ("chisq", "fisher") and np.unique(behavior.scores).size != 2:
        raise InvalidInputError(table, f"the {settings.test} test needs a binary score; {behavior.score_name!r} has "
                                f"{np.unique(behavior.scores).size} values")
    atlases = []
    if parcellation is not None:
        reference = nib.Nifti1Image(np.zeros(matrix.shape, np.uint8), matrix.affine)
        atlases.append(load_parcellation(parcellation, parcellation_labels, reference))
    tick = (lambda n: progress("permutations", n, settings.permutations)) if progress else None
    result = run_mapping(matrix, behavior, settings, progress=tick)
    maps = result_maps(result)
    every = atlases_for(result, atlases)
    out = LSMOutput(result, cluster_table(result, maps["thresholded"], every),
                    region_table(maps["thresholded"], every), {}, behavior.unmatched_rows)
    figure = html = None
    if report:
        from lesionkit.report.lsm import render_figure, render_page

        figure = render_figure(result, maps)
        notes = [f"table rows without a mask (not used): {', '.join(behavior.unmatched_rows)}"] \
            if behavior.unmatched_rows else []
        html = render_page(result, out.clusters, out.regions, "lsm_figure.png", notes)
    folder = Path(output)
    _write(out, maps, figure, html, folder, _provenance(out, files, Path(table), time.perf_counter() - started))
    return out
