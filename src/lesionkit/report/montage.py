"""A montage of cases: axial, coronal and sagittal slices through each case's largest lesion.

Grey T1w with the lesion contour in a bright colour; the title gives the subject, the largest
lesion's volume and the total. Used for ``docs/synthetic_montage.png`` (``lesionkit montage``) and
for eyeballing any cohort that :func:`lesionkit.io.load_cohort` reads. ``docs/synthetic_montage.png`` was made with::

    lesionkit synth /tmp/docs8 --subjects 8 --seed 4 --cohorts 8 --jobs 2
    lesionkit montage /tmp/docs8 -o docs/synthetic_montage.png \\
        --participant-label r002s001 r003s001 r005s001 r006s001
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from nibabel.affines import voxel_sizes

from lesionkit.core import label_lesions
from lesionkit.io import InvalidInputError, check_same_grid, load_case_mask, load_cohort, load_image
from lesionkit.io.atomic import atomic_path
from lesionkit.typing import PathLike

__all__ = ["cohort_montage", "plot_montage", "slices_through_largest_lesion"]

CONTOUR_COLOUR = "#ff3030"
_VIEWS = ("axial", "coronal", "sagittal")


def slices_through_largest_lesion(mask: np.ndarray) -> tuple[tuple[int, int, int], int, int]:
    """(voxel at the centroid of the largest 6-connected lesion, its voxel count, number of lesions).

    An empty mask gives the grid centre, 0 and 0.
    """
    labels, n = label_lesions(mask)  # numbered by decreasing size: lesion 1 is the largest
    if n == 0:
        return tuple(s // 2 for s in mask.shape), 0, 0  # type: ignore[return-value]
    voxels = np.argwhere(labels == 1)
    centre = np.rint(voxels.mean(axis=0))
    # the centroid of a curved lesion may fall outside it: use its nearest lesion voxel
    centre = voxels[np.argmin(((voxels - centre) ** 2).sum(1))]
    return tuple(int(c) for c in centre), len(voxels), n  # type: ignore[return-value]


def _view(volume: np.ndarray, centre: Sequence[int], view: str) -> np.ndarray:
    i, j, k = centre
    plane = {"axial": volume[:, :, k], "coronal": volume[:, j, :], "sagittal": volume[i, :, :]}[view]
    return plane.T  # rows = second axis (upwards with origin="lower")


def plot_montage(
    rows: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray]],
    path: PathLike,
    *,
    dpi: int = 90,
) -> Path:
    """Draw ``rows`` of (title, T1w, mask, affine) into a PNG at ``path`` (written atomically).

    Images must be on RAS-aligned grids (the MNI grid); slices are shown in neurological
    orientation (the subject's left on the left), with mm-true aspect ratios.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    zooms = [voxel_sizes(affine) for _, _, _, affine in rows]
    fig, axes = plt.subplots(len(rows), 3, figsize=(9.6, 3.15 * len(rows)), squeeze=False,
                             gridspec_kw={"width_ratios": [1.0, 1.0, 1.15]})
    fig.patch.set_facecolor("black")
    for r, ((title, t1w, mask, _affine), zoom) in enumerate(zip(rows, zooms, strict=True)):
        centre, voxels, n_lesions = slices_through_largest_lesion(mask)
        foreground = t1w[t1w > 0]
        vmin, vmax = (np.percentile(foreground, [0.5, 99.5]) if foreground.size else (0.0, 1.0))
        extents = {"axial": (0, 1), "coronal": (0, 2), "sagittal": (1, 2)}
        for c, view in enumerate(_VIEWS):
            ax = axes[r][c]
            a, b = extents[view]
            extent = (0, t1w.shape[a] * zoom[a], 0, t1w.shape[b] * zoom[b])
            ax.imshow(_view(t1w, centre, view), cmap="gray", vmin=vmin, vmax=vmax, origin="lower",
                      extent=extent, interpolation="bilinear")
            plane = _view(mask, centre, view)
            if plane.any():
                ax.contour(plane, levels=[0.5], colors=CONTOUR_COLOUR, linewidths=0.9, origin="lower",
                           extent=extent)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_facecolor("black")
            if view != "sagittal":
                ax.text(0.02, 0.03, "L", color="white", fontsize=8, transform=ax.transAxes)
            ax.text(0.98, 0.03, view, color="#aaaaaa", fontsize=7, ha="right", transform=ax.transAxes)
        volume = voxels * float(np.prod(zoom))
        total = float(mask.sum()) * float(np.prod(zoom))
        axes[r][1].set_title(f"{title} — largest lesion {volume:,.0f} mm³ ({n_lesions} lesion"
                             f"{'s' if n_lesions != 1 else ''}, total {total:,.0f} mm³)",
                             color="white", fontsize=10, pad=4)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.005, top=1 - 0.1 / len(rows), wspace=0.02, hspace=0.12)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, facecolor="black")
    plt.close(fig)
    return path


def cohort_montage(
    cohort: PathLike, path: PathLike, n_subjects: int = 4, participant_label: Sequence[str] | None = None
) -> Path:
    """Montage of the first ``n_subjects`` cases with a lesion mask in ``cohort`` (any layout ``load_cohort`` reads),
    optionally only those of ``participant_label``."""
    cases = [case for case in load_cohort(cohort, participant_label=participant_label, truth=True)
             if case.mask is not None and case.t1w is not None]
    if not cases:
        raise InvalidInputError(cohort, "no case has both a T1w image and a lesion mask")
    rows = []
    for case in cases[:n_subjects]:
        image = load_image(case.t1w)
        mask = load_case_mask(case)
        check_same_grid(image, mask)  # shape and affine: a mask 1 mm off its T1w is not drawn
        rows.append((f"sub-{case.subject}", np.asarray(image.dataobj), np.asanyarray(mask.dataobj), image.affine))
    return plot_montage(rows, path)
