"""Write a synthetic cohort in the ATLAS v2.0 layout, with ATLAS-like metadata tables.

Layout (``R001``, ``R002``, … are cohorts/sites, each a small BIDS dataset)::

    OUT/Training/R001/dataset_description.json
    OUT/Training/R001/participants.tsv       participant_id, n_lesions, hemisphere, total_volume_mm3, ...
    OUT/Training/R001/lesions.tsv            participant_id, lesion, volume_mm3, hemisphere, location, ...
    OUT/Training/R001/sub-r001s001/ses-1/anat/sub-r001s001_ses-1_space-MNI152NLin2009aSym_T1w.nii.gz
    OUT/Training/R001/sub-r001s001/ses-1/anat/sub-r001s001_ses-1_space-MNI152NLin2009aSym_label-L_desc-T1lesion_mask.nii.gz

Each subject folder also holds ``sub-X_ses-1_synth.json`` (seed, resolution, space and the subject's
metadata rows), written last: an interrupted run is resumed by running the same command again.
With ``space="native"`` or ``"both"`` each subject also gets ``space-orig`` T1w and mask and
``sub-X_ses-1_from-orig_to-MNI152NLin2009aSym_mode-image_xfm.json`` (see :mod:`lesionkit.synth.native`).
The metadata (counts, volumes, locations) describe the MNI-space mask, the ground truth; a native
mask is that truth resampled (partial volume ≥ 0.5) and may differ by a few voxels.
T1w images are stored as int16 (the site's intensity scale, 0–800 … 0–4000, keeps them exact to
better than 0.1 %), masks as uint8.

Realism options (:class:`~lesionkit.synth.options.SynthOptions`, e.g. the ``realistic`` preset) are
opt-in; with them the subject record and the cohort's ``dataset_description.json`` name the options, and
``participants.tsv`` gains the columns of :data:`REALISM_COLUMNS` (age, brain extraction, acquisition).
With the default options the output is byte-identical to the original generator's.

Seeding: cohort ``k``'s scanner profile comes from ``SeedSequence(seed, spawn_key=(k,))`` and its
subject ``s`` from ``SeedSequence(seed, spawn_key=(k, s))``, so subjects are independent of each other,
of ``jobs`` and of how many subjects are requested after them.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Literal

import numpy as np

from lesionkit.io.atomic import write_text
from lesionkit.io.bids import write_dataset_description
from lesionkit.io.cohort import MNI_SPACE
from lesionkit.io.nifti import save_nifti
from lesionkit.synth.options import ATLAS, SynthOptions
from lesionkit.synth.profile import ScannerProfile, draw_profile
from lesionkit.typing import PathLike

__all__ = ["cohort_profile", "generate_cohort", "subject_seed"]

Space = Literal["mni", "native", "both"]
PARTICIPANT_COLUMNS = ("participant_id", "n_lesions", "hemisphere", "total_volume_mm3", "scanner_profile",
                       "intensity_scale", "slice_thickness_mm", "seed")
REALISM_COLUMNS = ("age", "brain_extracted", "acq_slice_thickness_mm", "snr", "bits8")
LESION_COLUMNS = ("participant_id", "lesion", "volume_mm3", "hemisphere", "location", "territory",
                  "centroid_x_mm", "centroid_y_mm", "centroid_z_mm")


def cohort_profile(seed: int, cohort: int) -> ScannerProfile:
    """Scanner profile of cohort number ``cohort`` (1-based, ``R001``) for a cohort seed."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(cohort,)))
    return draw_profile(rng, f"R{cohort:03d}")


def subject_seed(seed: int, cohort: int, index: int) -> int:
    """Integer seed of subject ``index`` (1-based) of cohort ``cohort``."""
    return int(np.random.SeedSequence(seed, spawn_key=(cohort, index)).generate_state(1, np.uint64)[0] >> 1)


def _tsv(columns: tuple[str, ...], rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, delimiter="\t", lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _to_int16(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(image), -32768, 32767).astype(np.int16)


def _expected_files(anat: Path, stem: str, space: str) -> list[Path]:
    files = []
    if space != "native":
        files += [anat / f"{stem}_space-{MNI_SPACE}_T1w.nii.gz",
                  anat / f"{stem}_space-{MNI_SPACE}_label-L_desc-T1lesion_mask.nii.gz"]
    if space != "mni":
        files += [anat / f"{stem}_space-orig_T1w.nii.gz", anat / f"{stem}_space-orig_label-L_desc-T1lesion_mask.nii.gz",
                  anat / f"{stem}_from-orig_to-{MNI_SPACE}_mode-image_xfm.json"]
    return files


def _read_record(path: Path) -> dict | None:
    """A subject's ``_synth.json``, or None when it is unreadable or incomplete (the subject is then made anew)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("participant"), dict) \
            or not isinstance(record.get("lesions"), list):
        return None
    return record


def _make_subject(task: tuple) -> tuple[Path, dict, list[dict]]:
    """Generate and write one subject (runs in a worker process with ``jobs > 1``).

    The subject's record (``sub-X_ses-1_synth.json``: seed, resolution, space and its metadata rows) is
    written last, so with ``resume`` a subject whose record matches and whose files exist is skipped.
    """
    from lesionkit.synth.native import transform_json
    from lesionkit.synth.subject import generate_subject

    out, cohort, index, seed, resolution, space, profile, resume, options = task
    subject_id = f"r{cohort:03d}s{index:03d}"
    sub_seed = subject_seed(seed, cohort, index)
    anat = Path(out) / "Training" / f"R{cohort:03d}" / f"sub-{subject_id}" / "ses-1" / "anat"
    stem = f"sub-{subject_id}_ses-1"
    files = _expected_files(anat, stem, space)
    record_path = anat / f"{stem}_synth.json"
    key = {"Seed": sub_seed, "Resolution": resolution, "Space": space, "ScannerProfile": profile.name}
    if not options.is_classic:  # classic records keep their bytes
        key["SynthOptions"] = json.loads(json.dumps(options.as_dict()))  # tuples as lists, as read back
    if resume and record_path.exists() and all(f.exists() for f in files):
        record = _read_record(record_path)
        if record is not None and all(record.get(k) == v for k, v in key.items()):
            return files[0], record["participant"], record["lesions"]

    subject = generate_subject(sub_seed, resolution, profile, subject_id, native=space != "mni", options=options)
    if space != "native":
        save_nifti(_to_int16(subject.t1w), files[0], subject.affine)
        save_nifti(subject.mask, files[1], subject.affine, dtype=np.uint8)
    if subject.native is not None:
        native = subject.native
        save_nifti(_to_int16(native["t1w"]), files[-3], native["affine"])
        save_nifti(native["mask"], files[-2], native["affine"], dtype=np.uint8)
        write_text(files[-1], transform_json(native["to_mni"], native["to_template"]))
    participant = {
        "participant_id": f"sub-{subject_id}",
        "n_lesions": subject.n_lesions,
        "hemisphere": subject.hemisphere_class,
        "total_volume_mm3": f"{subject.total_volume_mm3:g}",
        "scanner_profile": profile.name,
        "intensity_scale": f"{profile.intensity_scale:g}",
        "slice_thickness_mm": f"{profile.slice_thickness:.2f}",
        "seed": sub_seed,
    }
    if not options.is_classic:
        acquisition = subject.acquisition or {}
        participant.update({
            "age": "n/a" if subject.age is None else f"{subject.age:g}",
            "brain_extracted": str(subject.brain_extracted).lower(),
            "acq_slice_thickness_mm": f"{acquisition.get('slice_thickness', profile.slice_thickness):.2f}",
            "snr": f"{acquisition['snr']:.1f}" if acquisition else "n/a",
            "bits8": str(bool(acquisition.get("bits8", False))).lower(),
        })
    lesions = [{
        "participant_id": f"sub-{subject_id}",
        "lesion": lesion["index"],
        "volume_mm3": f"{lesion['volume_mm3']:g}",
        "hemisphere": lesion["hemisphere"],
        "location": lesion["location"],
        "territory": lesion["territory"],
        "centroid_x_mm": lesion["centroid_mm"][0],
        "centroid_y_mm": lesion["centroid_mm"][1],
        "centroid_z_mm": lesion["centroid_mm"][2],
    } for lesion in subject.lesions]
    write_text(record_path, json.dumps({**key, "participant": participant, "lesions": lesions}, indent=1) + "\n")
    return files[0], participant, lesions


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)  # one process per core is the parallelism


def _run(tasks: list[tuple], jobs: int) -> Iterator[tuple[Path, dict, list[dict]]]:
    if jobs <= 1:
        yield from map(_make_subject, tasks)
        return
    import multiprocessing

    import torch  # noqa: F401  (here too: without it a missing 'synth' extra breaks the pool, unnamed)

    context = multiprocessing.get_context("spawn")  # no fork after torch/OpenMP initialised
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker) as pool:
        yield from pool.map(_make_subject, tasks)


def generate_cohort(
    out_dir: PathLike,
    n_subjects: int,
    seed: int,
    resolution: float = 1.0,
    space: Space = "mni",
    n_cohorts: int | None = None,
    jobs: int = 1,
    progress: bool = True,
    resume: bool = True,
    first_cohort: int = 1,
    options: SynthOptions = ATLAS,
) -> list[Path]:
    """Write ``n_subjects`` synthetic subjects in ``n_cohorts`` sites (default ⌈√n⌉); returns the T1w paths.

    Subject ``i`` (0-based) goes to cohort ``first_cohort + i % n_cohorts`` as its subject ``i // n_cohorts + 1``.
    ``first_cohort`` lets runs with different seeds share one folder without clashing subject ids
    (e.g. seed 1000 in R001–R008, then seed 1001 from R009).
    With ``resume`` (default), subjects already written by an interrupted run with the same seed,
    resolution and space are kept instead of regenerated (the output is identical either way); a subject
    whose record is unreadable is regenerated.
    ``options``: opt-in realism (:class:`~lesionkit.synth.options.SynthOptions`; presets in
    :data:`~lesionkit.synth.options.PRESETS`); :data:`~lesionkit.synth.options.CLASSIC` reproduces the original
    generator byte for byte.
    """
    if n_subjects < 1:
        raise ValueError("n_subjects must be at least 1")
    if n_cohorts is not None and n_cohorts < 1:
        raise ValueError("n_cohorts must be at least 1 (or None for the default)")
    if seed < 0:
        raise ValueError("seed must be at least 0")
    if space not in ("mni", "native", "both"):
        raise ValueError(f"space must be 'mni', 'native' or 'both', got {space!r}")
    n_cohorts = min(n_subjects, n_cohorts or math.ceil(math.sqrt(n_subjects)))
    out = Path(out_dir)
    if first_cohort < 1:
        raise ValueError("first_cohort must be at least 1")
    cohorts = [first_cohort + i % n_cohorts for i in range(n_subjects)]
    profiles = {k: cohort_profile(seed, k) for k in sorted(set(cohorts))}
    tasks = [(str(out), k, i // n_cohorts + 1, seed, float(resolution), space, profiles[k], resume, options)
             for i, k in enumerate(cohorts)]

    results: list[tuple[Path, dict, list[dict]]] = []
    iterator = _run(tasks, jobs)
    if progress:
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            job = bar.add_task(f"synthesising {n_subjects} subjects", total=n_subjects)
            for result in iterator:
                results.append(result)
                bar.advance(job)
    else:
        results = list(iterator)

    for k, profile in profiles.items():
        folder = out / "Training" / f"R{k:03d}"
        mine = [r for r, t in zip(results, tasks, strict=True) if t[1] == k]
        extra = {"GeneratedBy": [{"Name": "lesionkit synth", "Seed": seed, "Resolution_mm": resolution}],
                 "ScannerProfile": profile.as_dict()}
        if not options.is_classic:
            extra["SynthOptions"] = options.as_dict()
        write_dataset_description(folder, f"lesionkit synthetic ATLAS-like cohort {profile.name}", dataset_type="raw",
                                  extra=extra)
        columns = PARTICIPANT_COLUMNS + (() if options.is_classic else REALISM_COLUMNS)
        write_text(folder / "participants.tsv", _tsv(columns, [r[1] for r in mine]))
        write_text(folder / "lesions.tsv", _tsv(LESION_COLUMNS, [row for r in mine for row in r[2]]))
        # ATLAS-like extras BIDS has no name for (the README says which ATLAS conventions stay invalid)
        write_text(folder / ".bidsignore", "lesions.tsv\n*_synth.json\n*_xfm.json\n")
    return [r[0] for r in results]
