"""Figures and the HTML page of a lesion analysis: a per-subject montage, the overlap map, a cohort summary.

* :func:`subject_montage` — lesion contours on the T1w: axial, coronal and sagittal slices through the
  largest lesion's centroid, and a row of axial slices spread over the whole lesion extent.
* :func:`plot_overlap_map` — the probabilistic lesion overlap map over the MNI152 template in axial
  slices, like ATLAS v2.0 Figure 4 (share of subjects per voxel, colour bar in %).
* :func:`cohort_summary_html` — one self-contained page: counts by hemisphere and location, the subject
  and lesion tables, and the overlap figure.

All slices are shown in **neurological convention** (the subject's left on the left of the image, as
nilearn and MRIcron show them); each panel says so with an ``L``/``R`` label.

The pictures in ``docs/`` were made with (PNG colours then reduced to a 256-colour palette)::

    lesionkit synth /tmp/s40 --subjects 40 --seed 11 --resolution 2
    lesionkit overlap /tmp/s40 -o /tmp/ov40                        # docs/overlap_map.png = /tmp/ov40/overlap.png
    lesionkit synth /tmp/s1mm --subjects 4 --seed 11
    python -c "from glob import glob; from lesionkit.report.analysis import subject_montage; \
        d = '/tmp/s1mm/Training/R001/sub-r001s002/ses-1/anat/'; \
        subject_montage(glob(d + '*T1w.nii.gz')[0], glob(d + '*mask.nii.gz')[0], 'docs/lesion_montage.png', \
                        title='sub-r001s002')"
"""

from __future__ import annotations

import base64
import warnings
from collections.abc import Sequence
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from lesionkit.io import InvalidInputError, atomic_path, check_same_grid, load_image, load_mask, write_text
from lesionkit.report.html import escape, page, table
from lesionkit.report.montage import CONTOUR_COLOUR, slices_through_largest_lesion
from lesionkit.typing import PathLike

__all__ = ["cohort_summary_html", "lesion_slices", "plot_overlap_map", "share_outside", "subject_montage"]

_VIEW_AXES = {"axial": (0, 1), "coronal": (0, 2), "sagittal": (1, 2)}


def _as_image(value: nib.Nifti1Image | np.ndarray | PathLike, *, mask: bool) -> nib.Nifti1Image:
    """A path is loaded (and checked) by lesionkit.io; an array gets a 1 mm identity affine."""
    if isinstance(value, nib.spatialimages.SpatialImage):
        return value
    if isinstance(value, np.ndarray):
        return nib.Nifti1Image(value, np.eye(4))
    return load_mask(value) if mask else load_image(value)


def lesion_slices(mask: np.ndarray, n: int) -> list[int]:
    """Up to ``n`` axial (third-axis) indices evenly spread over the slices that hold lesion voxels.

    Fewer when the lesion spans fewer slices; the grid's middle slice for an empty mask.
    """
    z = np.flatnonzero(mask.any(axis=(0, 1)))
    if z.size == 0:
        return [mask.shape[2] // 2]
    # pick among the lesioned slices only (several lesions leave gaps), inset by half a step so the
    # first and last picks are not a lesion's thin caps
    picks = np.floor((np.arange(n) + 0.5) * z.size / n).astype(int)
    return sorted({int(z[i]) for i in picks})


def _plane(volume: np.ndarray, view: str, index: int) -> np.ndarray:
    axis = {"sagittal": 0, "coronal": 1, "axial": 2}[view]  # slice only the asked axis: sizes differ per axis
    return np.take(volume, index, axis=axis).T  # rows = the second axis, drawn upwards with origin="lower"


def _draw(ax, t1: np.ndarray, mask: np.ndarray, zoom: np.ndarray, view: str, index: int, window) -> None:
    a, b = _VIEW_AXES[view]
    extent = (0, t1.shape[a] * zoom[a], 0, t1.shape[b] * zoom[b])
    ax.imshow(_plane(t1, view, index), cmap="gray", vmin=window[0], vmax=window[1], origin="lower",
              extent=extent, interpolation="bilinear")
    plane = _plane(mask, view, index)
    if plane.any():
        ax.contour(plane, levels=[0.5], colors=CONTOUR_COLOUR, linewidths=1.0, origin="lower", extent=extent)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor("black")
    if view != "sagittal":  # x increases to the subject's right, drawn left to right: neurological convention
        ax.text(0.02, 0.97, "L", color="white", fontsize=8, va="top", transform=ax.transAxes)
        ax.text(0.98, 0.97, "R", color="white", fontsize=8, va="top", ha="right", transform=ax.transAxes)
    else:
        ax.text(0.02, 0.97, "P", color="white", fontsize=8, va="top", transform=ax.transAxes)
        ax.text(0.98, 0.97, "A", color="white", fontsize=8, va="top", ha="right", transform=ax.transAxes)


def subject_montage(
    t1: nib.Nifti1Image | np.ndarray | PathLike,
    mask: nib.Nifti1Image | np.ndarray | PathLike,
    path: PathLike,
    title: str | None = None,
    *,
    n_axial: int = 6,
    dpi: int = 100,
) -> Path:
    """Write a PNG of the lesion contour (red) on the T1w and return its path.

    Top row: axial, coronal and sagittal slices through the centroid of the largest 6-connected
    lesion; bottom row: ``n_axial`` axial slices spread over the extent of all lesions. ``t1`` and
    ``mask`` are images, paths or arrays (arrays: 1 mm voxels) on one grid; both are turned to the
    closest RAS orientation first, so native scans are drawn the right way up. Neurological
    convention (left on the left). An empty mask gives slices through the grid centre.
    """
    from matplotlib.figure import Figure

    t1_img = nib.as_closest_canonical(_as_image(t1, mask=False))
    mask_img = nib.as_closest_canonical(_as_image(mask, mask=True))
    check_same_grid(t1_img, mask_img)
    image = np.asarray(t1_img.dataobj, dtype=np.float32)
    lesion = np.asanyarray(mask_img.dataobj) > 0
    zoom = np.asarray(t1_img.header.get_zooms()[:3], dtype=float)
    centre, largest, n_lesions = slices_through_largest_lesion(lesion)
    foreground = image[image > 0]
    window = np.percentile(foreground, [0.5, 99.5]) if foreground.size else (float(image.min()), float(image.max()))
    axial = lesion_slices(lesion, n_axial)

    n_cols = 6
    fig = Figure(figsize=(12.0, 6.2), facecolor="black")
    grid = fig.add_gridspec(2, n_cols, height_ratios=[1.35, 1.0], hspace=0.06, wspace=0.02,
                            left=0.005, right=0.995, bottom=0.01, top=0.92)
    for col, view in enumerate(("axial", "coronal", "sagittal")):
        ax = fig.add_subplot(grid[0, 2 * col: 2 * col + 2])
        _draw(ax, image, lesion, zoom, view, centre[{"axial": 2, "coronal": 1, "sagittal": 0}[view]], window)
        ax.text(0.98, 0.03, view, color="#aaaaaa", fontsize=8, ha="right", transform=ax.transAxes)
    world = t1_img.affine @ np.array([0.0, 0.0, 0.0, 1.0])
    for col, k in enumerate(axial[:n_cols]):
        ax = fig.add_subplot(grid[1, col])
        _draw(ax, image, lesion, zoom, "axial", k, window)
        z_mm = world[2] + k * t1_img.affine[2, 2]
        ax.text(0.98, 0.03, f"z = {z_mm:.0f} mm", color="#aaaaaa", fontsize=7, ha="right", transform=ax.transAxes)
    voxel = float(np.prod(zoom))
    heading = f"{title} — " if title else ""
    fig.suptitle(
        f"{heading}{n_lesions} lesion{'s' if n_lesions != 1 else ''}, total {lesion.sum() * voxel:,.0f} mm³, "
        f"largest {largest * voxel:,.0f} mm³  (neurological view: left on the left)",
        color="white", fontsize=11, y=0.975,
    )
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, facecolor="black")
    return path


def _overlap_cuts(share: np.ndarray, affine: np.ndarray, n: int) -> list[float]:
    """``n`` axial world coordinates (mm) spread over the slices that some subject's lesion touches."""
    return [float((affine @ np.array([0.0, 0.0, k, 1.0]))[2]) for k in lesion_slices(share > 0, n)]


def share_outside(share: nib.Nifti1Image, background: nib.Nifti1Image) -> float:
    """Fraction of lesioned voxels whose centre falls outside the background's head (≤ 5 % of its maximum).

    A large fraction means the masks are not in the background's space (e.g. native-space masks drawn
    over the MNI template) and the figure would mislead.
    """
    ijk = np.argwhere(np.asanyarray(share.dataobj) > 0)
    if ijk.size == 0:
        return 0.0
    world = share.affine[:3, :3] @ ijk.T + share.affine[:3, 3:4]
    inverse = np.linalg.inv(background.affine)
    vox = np.rint(inverse[:3, :3] @ world + inverse[:3, 3:4]).astype(int).T
    bg = np.asanyarray(background.dataobj)
    inside = np.all((vox >= 0) & (vox < np.array(bg.shape[:3])), axis=1)
    head = np.zeros(len(vox), bool)
    head[inside] = bg[tuple(vox[inside].T)] > 0.05 * float(bg.max())
    return float(1.0 - head.mean())


def plot_overlap_map(
    share: nib.Nifti1Image,
    path: PathLike,
    n_subjects: int | None = None,
    *,
    background: nib.Nifti1Image | None = None,
    n_slices: int = 8,
    dpi: int = 110,
) -> Path:
    """Draw the share map (fraction of subjects per voxel) over the MNI152 template, as ATLAS Figure 4.

    A row of ``n_slices`` axial slices through the lesioned range, red for few subjects to yellow for the most,
    a colour bar in percent of subjects, neurological convention (L on the left, labelled). The share
    map is resampled onto the background by nilearn, so a 2 mm map shows on the 1 mm template.
    ``background`` defaults to :func:`lesionkit.io.load_template` ("t1"); the masks must then be in
    MNI152NLin2009aSym space — a :class:`UserWarning` says so when more than 20 % of the lesioned voxels
    fall outside the background's head (:func:`share_outside`).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LinearSegmentedColormap
    from nilearn import plotting

    # "hot" without its black third: one subject is a visible red, the most-shared voxels pale yellow
    hot = matplotlib.colormaps["hot"]
    overlap_cmap = LinearSegmentedColormap.from_list("lesion_overlap", hot(np.linspace(0.3, 0.95, 256)))

    from lesionkit.io import load_template

    data = np.asarray(share.dataobj, dtype=np.float32)
    percent = nib.Nifti1Image(data * 100.0, share.affine)
    bg = background if background is not None else load_template("t1")
    outside = share_outside(share, bg)
    if outside > 0.2:
        warnings.warn(f"{outside:.0%} of the lesioned voxels lie outside the head of the background image: are the "
                      "masks in MNI152NLin2009aSym space? The overlap figure will not match the anatomy", stacklevel=2)
    peak = float(percent.get_fdata().max())
    fig = plt.figure(figsize=(13.0, 3.1), facecolor="black")
    n_text = f"N = {n_subjects} subjects, " if n_subjects is not None else ""
    plotting.plot_stat_map(
        percent,
        bg_img=bg,
        display_mode="z",
        cut_coords=_overlap_cuts(data, share.affine, n_slices),
        cmap=overlap_cmap,
        threshold=1e-6,
        vmax=max(peak, 1e-3),
        colorbar=True,
        black_bg=True,
        annotate=True,
        draw_cross=False,
        dim=-0.3,
        figure=fig,
        axes=fig.add_axes((0.0, 0.0, 1.0, 0.86)),
    )
    fig.suptitle(f"Probabilistic lesion overlap ({n_text}peak {peak:.0f} % of subjects) on MNI152NLin2009aSym, "
                 "neurological convention (L = left)", color="white", fontsize=11, y=0.97)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, facecolor="black")
    plt.close(fig)
    return path


def _first(frame: pd.DataFrame, names: Sequence[str]) -> str | None:
    return next((name for name in names if name in frame.columns), None)


def _counts(frame: pd.DataFrame, column: str, label: str) -> pd.DataFrame:
    counts = frame[column].fillna("unknown").astype(str).value_counts()
    return pd.DataFrame({label: counts.index, "n": counts.to_numpy(), "%": 100.0 * counts.to_numpy() / len(frame)})


def _hemisphere_classes(subjects: pd.DataFrame, column: str) -> pd.DataFrame:
    """Counts of the ATLAS hemisphere classes, split by one lesion / several lesions as ATLAS Table 2 does."""
    frame = _counts(subjects, column, "hemisphere")
    if "n_lesions" not in subjects:
        return frame
    n = pd.to_numeric(subjects["n_lesions"], errors="coerce")
    group = np.select([n == 0, n == 1, n > 1], ["no lesion", "one lesion", "several lesions"], "unknown")
    counts = pd.DataFrame({"lesions": group, "hemisphere": subjects[column].fillna("unknown").astype(str)})
    counts = counts.value_counts().rename("n").reset_index()
    order = {"one lesion": 0, "several lesions": 1, "no lesion": 2, "unknown": 3}
    counts = counts.sort_values(["lesions", "n"], key=lambda c: c.map(order) if c.name == "lesions" else -c)
    counts["%"] = 100.0 * counts["n"] / len(subjects)
    return counts.reset_index(drop=True)


def _image_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def cohort_summary_html(
    lesions: pd.DataFrame,
    subjects: pd.DataFrame,
    overlap_png: Path | None,
    path: PathLike,
    *,
    title: str = "lesionkit cohort summary",
) -> Path:
    """Write a self-contained HTML page summarising a cohort's lesions and return its path.

    ``lesions`` has one row per lesion (``lesionkit analyze``'s ``lesions.tsv``: ``subject``,
    ``volume_mm3``, ``hemisphere``, ``location``, ...), ``subjects`` one row per subject
    (``subjects.tsv``). Counts are made from whichever of the usual columns exist; the overlap figure,
    when given, is inlined as base64 so the page travels as one file.
    """
    if overlap_png is not None and not Path(overlap_png).is_file():
        raise InvalidInputError(overlap_png, "overlap figure does not exist")
    volume = _first(subjects, ("total_volume_mm3", "volume_mm3"))
    cards = [("subjects", f"{len(subjects):,}"), ("lesions", f"{len(lesions):,}")]
    if volume is not None and len(subjects):
        cards.append(("median total volume", f"{subjects[volume].median():,.0f} mm³"))
    if "volume_mm3" in lesions and len(lesions):
        cards.append(("median lesion volume", f"{lesions['volume_mm3'].median():,.0f} mm³"))
    body = [f"<h1>{escape(title)}</h1>", '<div class="cards">']
    body += [f'<div class="card">{escape(name)}<b>{escape(value)}</b></div>' for name, value in cards]
    body.append("</div>")

    body.append("<h2>Counts</h2>")
    sections = []
    hemi_class = _first(subjects, ("hemisphere_class", "hemisphere"))
    if hemi_class is not None and len(subjects):
        sections.append(("Subjects by hemisphere class", _hemisphere_classes(subjects, hemi_class)))
    for column, label in (("hemisphere", "Lesions by hemisphere"), ("location", "Lesions by location")):
        if column in lesions and len(lesions):
            sections.append((label, _counts(lesions, column, column)))
    if {"hemisphere", "location"} <= set(lesions.columns) and len(lesions):
        cross = pd.crosstab(lesions["location"].fillna("unknown"), lesions["hemisphere"].fillna("unknown"),
                            margins=True, margins_name="all")
        sections.append(("Lesions by location and hemisphere", cross.rename_axis(None, axis=1).reset_index()))
    if not sections:
        body.append('<p class="note">No hemisphere or location columns to count.</p>')
    for heading, frame in sections:
        body.append(f"<h3>{escape(heading)}</h3>{table(frame, float_format='{:.1f}')}")

    if overlap_png is not None:
        body.append("<h2>Lesion overlap</h2>")
        body.append(f'<img alt="lesion overlap map" src="{_image_uri(Path(overlap_png))}">')
        body.append('<p class="note">Share of subjects with a lesion in each voxel over the MNI152NLin2009aSym '
                    "template; neurological convention (left on the left).</p>")

    body.append(f"<h2>Subjects ({len(subjects):,})</h2>{table(subjects)}")
    # the per-territory share columns (one per atlas label) would make the page unreadably wide
    hidden = [c for c in lesions.columns if c.startswith("territory_")]
    note = (f'<p class="note">{len(hidden)} per-territory share columns are left out here; they are in '
            "lesions.tsv.</p>" if hidden else "")
    body.append(f"<details><summary>Lesions ({len(lesions):,} rows)</summary>{note}"
                f"{table(lesions.drop(columns=hidden))}</details>")
    path = Path(path)
    write_text(path, page(title, "\n".join(body)))
    return path
