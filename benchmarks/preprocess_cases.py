"""Cases, error measure and the three pipelines compared by ``preprocess_speed.py`` and ``preprocess_accuracy.py``.

A case is named ``SOURCE:...[:POSE]``:

* ``cli:SEED:N:I`` — subject ``I`` (0-based) of ``lesionkit synth DIR --subjects N --seed SEED --space native``
  (1 mm, its cohort's scanner profile: oblique, anisotropic, sometimes thick-slice or LPS grids; head pose
  up to 10°). Truth: ``NativeToTemplateMatrix`` of its transform JSON (native → subject MNI → template,
  the anatomy's affine part), exact up to the subject's residual smooth warp (reported per case).
* ``synth:S[:thick]`` — ``lesionkit.synth.generate_subject(S, native=True)`` (``thick`` forces the
  0.9×0.9×3 mm LPS profile); same truth.
* ``template:S`` — the template with a skull shell on a 0.9×0.9×3 mm LPS oblique grid, moved by a
  35°/−20°/50° rotation and 5 % anisotropic scale (``tests/preprocess/native_case.py``). Exact truth.

``POSE`` = ``DEG`` or ``DEG`` followed by ``x``, ``y`` or ``z`` (default ``x``): the head is further
rotated by ``DEG`` degrees about that world axis through the origin. That is exact (only the affine
changes, no resampling): new world = R · old world, so the truth becomes truth · R⁻¹.

Pose class: ``rotated`` when the head's total rotation from the template (the rotation angle of the
truth's polar factor) exceeds 15°, else ``ordinary``.

Pipelines (each returns the native → MNI RAS point map and its step times):

* :func:`run_lesionkit` — ``lesionkit.preprocess``: N4 + whole-sphere rigid search and affine + brain mask;
* :func:`run_ants_default` — ``ants.n4_bias_field_correction(img)`` + ``ants.registration(template, img,
  type_of_transform="Affine")``: what the ANTsPy README shows;
* :func:`run_ants_tuned` — what a skilled ANTsPy user runs (see its docstring): with an
  ``ants.affine_initializer`` whole-sphere start (heads in any pose) or ANTs' centre-of-mass start
  (``run_ants_tuned_com``, scans in the usual pose).
"""

from __future__ import annotations

import functools
import math
import sys
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

__all__ = ["brain_points", "errors", "make_case", "pose_degrees", "run_ants_default", "run_ants_tuned",
           "run_ants_tuned_com", "run_lesionkit"]

ROTATED_ABOVE_DEG = 15.0
#: The registration schedule lesionkit uses (``RegistrationSettings``: 2 mm template, shrink 4/2/1,
#: sigmas 2/1/0 voxels): in mm, what the tuned ANTsPy peer runs on the 1 mm template.
SCHEDULE_SHRINK = (8, 4, 2)
SCHEDULE_SIGMAS_VOX = (4, 2, 0)
SCHEDULE_ITERATIONS = (100, 50, 25)


def rotation(degrees: float, axis: str = "x") -> np.ndarray:
    """4×4 rotation by ``degrees`` about world axis ``axis`` (right-handed)."""
    a = np.deg2rad(degrees)
    i, j = {"x": (1, 2), "y": (2, 0), "z": (0, 1)}[axis]
    out = np.eye(4)
    out[i, i] = out[j, j] = np.cos(a)
    out[i, j], out[j, i] = -np.sin(a), np.sin(a)
    return out


def pose_degrees(truth: np.ndarray) -> float:
    """Rotation angle (degrees) of the orthogonal polar factor of a native → template affine."""
    u, _, vt = np.linalg.svd(np.asarray(truth, float)[:3, :3])
    rot = u @ vt
    return float(np.degrees(np.arccos(np.clip((np.trace(rot) - 1) / 2, -1.0, 1.0))))


def residual_warp_mm(seed: int, resolution: float = 1.0) -> float:
    """Mean displacement (mm) of the synth subject's smooth warp beyond its affine part, over brain voxels."""
    from lesionkit.synth.anatomy import Tissue, grid_shape, head_model
    from lesionkit.synth.deform import random_deformation

    model = head_model(resolution)
    shape = grid_shape(resolution)
    # generate_subject draws the deformation first from default_rng(seed): the same draw here
    deformation = random_deformation(np.random.default_rng(seed), shape, model.affine)
    grid = deformation.grid
    template_voxel = np.stack([(grid[..., 2 - a] + 1) * (shape[a] - 1) / 2 for a in range(3)], -1).reshape(-1, 3)
    ijk = np.indices(shape).reshape(3, -1).T
    world = ijk @ model.affine[:3, :3].T + model.affine[:3, 3]
    inverse = np.linalg.inv(deformation.affine)
    linear = world @ inverse[:3, :3].T + inverse[:3, 3]
    drawn = template_voxel @ model.affine[:3, :3].T + model.affine[:3, 3]
    tissue = model.labels >> 5
    brain = ((tissue >= Tissue.CSF) & (tissue <= Tissue.INFRA_WM)).astype(np.float32)
    in_brain = ndimage.map_coordinates(brain, template_voxel.T, order=0) > 0
    return float(np.linalg.norm(drawn - linear, axis=1)[in_brain].mean())


def _native(subject) -> tuple[nib.Nifti1Image, nib.Nifti1Image, np.ndarray]:
    native = subject.native
    t1w = nib.Nifti1Image(np.asarray(native["t1w"], np.float32), native["affine"])
    mask = nib.Nifti1Image(np.asarray(native["mask"], np.uint8), native["affine"])
    return t1w, mask, np.asarray(native["to_template"], float) @ np.asarray(native["to_mni"], float)


def _cli_case(seed: int, n_subjects: int, index: int):
    """Subject ``index`` of ``lesionkit synth --subjects n_subjects --seed seed --space native`` (generate_cohort's
    cohort and subject numbering)."""
    from lesionkit.synth import generate_subject
    from lesionkit.synth.cohort import cohort_profile, subject_seed

    n_cohorts = min(n_subjects, math.ceil(math.sqrt(n_subjects)))
    cohort, number = 1 + index % n_cohorts, index // n_cohorts + 1
    sub_seed = subject_seed(seed, cohort, number)
    name = f"r{cohort:03d}s{number:03d}"
    subject = generate_subject(sub_seed, 1.0, cohort_profile(seed, cohort), name, native=True)
    extra = {"subject": f"sub-{name}", "residual_warp_mean_mm": round(residual_warp_mm(sub_seed), 3)}
    return (*_native(subject), extra)


def _synth_case(seed: int, thick: bool):
    from lesionkit.synth import ScannerProfile, generate_subject

    thick_lps = ScannerProfile(name="R009", native_voxel=(0.9, 0.9, 3.0), slice_axis=2, native_lps=True)
    profile = thick_lps if thick else None
    return (*_native(generate_subject(seed, native=True, cohort_profile=profile)),
            {"residual_warp_mean_mm": round(residual_warp_mm(seed), 3)})


def _template_case(seed: int):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.preprocess.native_case import make_native_case

    case = make_native_case(seed=seed, lesion_radius=12.0)
    return case.t1w, case.mask, case.transform, {}


def make_case(spec: str) -> tuple[nib.Nifti1Image, nib.Nifti1Image, np.ndarray, dict]:
    """(t1w, lesion mask, true native → template matrix, facts) for a case name (see the module docstring)."""
    source, *fields = spec.split(":")
    needed = {"cli": 3, "synth": 1, "template": 1}.get(source)
    if needed is None or len(fields) < needed:
        raise SystemExit(f"unknown case {spec!r}")
    fields, options = fields[:needed], fields[needed:]
    thick = "thick" in options
    pose = next((o for o in options if o != "thick"), "")
    if source == "cli":
        t1w, mask, truth, extra = _cli_case(*map(int, fields))
    elif source == "synth":
        t1w, mask, truth, extra = _synth_case(int(fields[0]), thick)
    else:
        t1w, mask, truth, extra = _template_case(int(fields[0]))
    if pose:
        axis = pose[-1] if pose[-1] in "xyz" else "x"
        rot = rotation(float(pose.rstrip("xyz")), axis)
        t1w = nib.Nifti1Image(np.asarray(t1w.dataobj), rot @ t1w.affine)
        mask = nib.Nifti1Image(np.asarray(mask.dataobj), rot @ mask.affine)
        truth = truth @ np.linalg.inv(rot)
    degrees = pose_degrees(truth)
    extra = {**extra, "pose_deg": round(degrees, 1), "pose": "rotated" if degrees > ROTATED_ABOVE_DEG else "ordinary"}
    return t1w, mask, truth, extra


def brain_points(transform: np.ndarray, reference: nib.Nifti1Image) -> np.ndarray:
    """World coordinates (homogeneous, N×4) of the native voxels inside the template brain mapped back by the truth."""
    from lesionkit.preprocess import template_brain_mask, to_native

    brain = np.asarray(to_native(template_brain_mask(), transform, reference, order=1).dataobj) >= 0.5
    ijk = np.argwhere(brain)
    return np.c_[ijk, np.ones(len(ijk))] @ reference.affine.T


def errors(estimate: np.ndarray, truth: np.ndarray, points: np.ndarray) -> dict[str, float]:
    """Mean and maximum distance (mm) between brain points mapped by the estimate and by the truth."""
    distance = np.linalg.norm((points @ estimate.T - points @ truth.T)[:, :3], axis=1)
    return {"mean_mm": round(float(distance.mean()), 3), "max_mm": round(float(distance.max()), 3)}


def run_lesionkit(t1w: nib.Nifti1Image) -> tuple[object, dict[str, float]]:
    """lesionkit's N4 + registration + brain mask, as ``preprocess_t1w`` runs them; (AffineRegistration, seconds)."""
    from lesionkit.preprocess import brain_mask_native, n4_bias_field, register_affine, reorient_to_ras

    seconds = {}
    start = time.perf_counter()
    image = reorient_to_ras(t1w)
    corrected, _ = n4_bias_field(image)
    seconds["n4"] = time.perf_counter() - start
    start = time.perf_counter()
    fit = register_affine(corrected)
    seconds["registration"] = time.perf_counter() - start
    start = time.perf_counter()
    brain_mask_native(fit.transform, image)
    seconds["brain_mask"] = time.perf_counter() - start
    return fit, seconds


@functools.lru_cache(maxsize=1)
def _template():
    from lesionkit.io import load_template
    from lesionkit.preprocess.ants_bridge import nib_to_ants

    return nib_to_ants(load_template("t1"))


def run_ants_default(t1w: nib.Nifti1Image) -> tuple[np.ndarray, dict[str, float]]:
    """ANTsPy's defaults: ``n4_bias_field_correction(img)`` then ``registration(template, img, "Affine")``."""
    import ants

    from lesionkit.preprocess.ants_bridge import matrix_from_ants_transform, nib_to_ants

    seconds = {}
    start = time.perf_counter()
    corrected = ants.n4_bias_field_correction(nib_to_ants(t1w))
    seconds["n4"] = time.perf_counter() - start
    start = time.perf_counter()
    fit = ants.registration(fixed=_template(), moving=corrected, type_of_transform="Affine")
    seconds["registration"] = time.perf_counter() - start
    return matrix_from_ants_transform(fit["fwdtransforms"][0]), seconds


@functools.lru_cache(maxsize=1)
def _brain_masks():
    """The template brain (lesionkit's) and that brain grown by 10 mm, as ANTs images on the 1 mm template."""
    from lesionkit.preprocess import template_brain_mask
    from lesionkit.preprocess.ants_bridge import nib_to_ants

    brain = template_brain_mask()
    inside = np.asarray(brain.dataobj, dtype=bool)
    grown = ndimage.distance_transform_edt(~inside) <= 10
    return nib_to_ants(brain, inside.astype(np.float32)), nib_to_ants(brain, grown.astype(np.float32))


#: ``ants.affine_initializer`` arguments of the tuned peer: the whole sphere (radian_fraction 1 = ±180°)
#: in 30° steps, no principal axes (they flip on near-symmetric heads), a short local search per start.
INITIALIZER = {"search_factor": 30, "radian_fraction": 1.0, "use_principal_axis": False, "local_search_iterations": 5}
#: the initializer runs on a 4 mm copy of both images: 64× fewer voxels per start than 1 mm.
INITIALIZER_MM = 4.0


def run_ants_tuned(t1w: nib.Nifti1Image, seed: int = 20260, start: str = "initializer"
                   ) -> tuple[np.ndarray, dict[str, float]]:
    """ANTsPy as a skilled user would tune it, with lesionkit's N4 settings, mask and schedule.

    * ``ants.n4_bias_field_correction`` with lesionkit's parameters (shrink 6, 50/50/30 iterations, 200 mm spline)
      but ANTsPy's default of no mask (lesionkit fits inside a thresholded head mask, which is faster);
    * ``start="initializer"`` (for heads in any pose): a start from ``ants.affine_initializer``
      (:data:`INITIALIZER`) on 4 mm copies, restricted to the template brain mask; ``start="com"`` (for
      scans in the usual pose): ANTs' own centre-of-mass alignment (``initial_transform=None``);
    * ``ants.registration(type_of_transform="Affine", initial_transform=start)``, Mattes MI, 25 % random
      sampling, the fixed mask = the template brain grown by 10 mm (lesionkit's), and lesionkit's
      8/4/2 mm schedule (shrink 8/4/2 on the 1 mm template, σ 4/2/0 voxels, 100/50/25 iterations).

    The metric's random sampling is seeded through ``ants.config._random_seed`` (antspyx 0.6.3 ignores
    ``registration(random_seed=…)``), as lesionkit does, so the peer is as repeatable as lesionkit.
    """
    import ants

    from lesionkit.preprocess.ants_bridge import matrix_from_ants_transform, nib_to_ants

    fixed = _template()
    brain, grown = _brain_masks()
    seconds = {}
    start = time.perf_counter()
    moving = nib_to_ants(t1w)
    corrected = ants.n4_bias_field_correction(moving, shrink_factor=6, convergence={"iters": [50, 50, 30], "tol": 1e-6},
                                              spline_param=200)
    seconds["n4"] = time.perf_counter() - start
    saved_seed = ants.config._random_seed
    ants.config._random_seed = seed
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ants-") as tmp:
            init = None  # ANTs aligns the centres of mass
            if start == "initializer":
                began = time.perf_counter()
                coarse = (INITIALIZER_MM,) * 3
                init = [ants.affine_initializer(
                    ants.resample_image(fixed, coarse, use_voxels=False, interp_type=0),
                    ants.resample_image(corrected, coarse, use_voxels=False, interp_type=0),
                    mask=ants.resample_image(brain, coarse, use_voxels=False, interp_type=1),
                    txfn=str(Path(tmp) / "init.mat"), **INITIALIZER)]
                seconds["initializer"] = time.perf_counter() - began
            began = time.perf_counter()
            fit = ants.registration(
                fixed=fixed, moving=corrected, type_of_transform="Affine", initial_transform=init, mask=grown,
                outprefix=str(Path(tmp) / "reg_"), aff_metric="mattes", aff_sampling=32, aff_random_sampling_rate=0.25,
                aff_iterations=SCHEDULE_ITERATIONS, aff_shrink_factors=SCHEDULE_SHRINK,
                aff_smoothing_sigmas=SCHEDULE_SIGMAS_VOX)
            transform = matrix_from_ants_transform(fit["fwdtransforms"][0])
            seconds["registration"] = time.perf_counter() - began
    finally:
        ants.config._random_seed = saved_seed
    return transform, seconds


def run_ants_tuned_com(t1w: nib.Nifti1Image) -> tuple[np.ndarray, dict[str, float]]:
    """:func:`run_ants_tuned` started from ANTs' centre-of-mass alignment instead of ``ants.affine_initializer``."""
    return run_ants_tuned(t1w, start="com")
