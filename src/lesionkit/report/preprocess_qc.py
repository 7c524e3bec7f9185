"""QC figure of a registration: the registered brain's edges over the MNI template, in three planes.

Like Figure 3 of the ATLAS v2.0 paper: a reviewer sees at a glance whether the subject's brain outline
(yellow) follows the template's anatomy (grey) — the ventricles, the cortex, the cerebellum — and where
the lesion (red outline) landed. One row, sagittal / coronal / axial, through the lesion's centre when
there is one, else through the middle of the brain.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

from lesionkit.io import atomic_path, load_template
from lesionkit.typing import PathLike

__all__ = ["edge_map", "plot_preprocess_qc"]


def edge_map(
    data: np.ndarray, region: np.ndarray | None = None, sigma: float = 1.0, quantile: float = 0.8
) -> np.ndarray:
    """Bool map of the strongest edges: Gaussian gradient magnitude above its ``quantile`` within ``region``.

    Restricting to the brain (``region``) keeps the ventricles and the grey/white boundary, which say more
    about the fit than the much stronger scalp and skull edges.
    """
    data = np.asarray(data, dtype=np.float32)
    magnitude = ndimage.gaussian_gradient_magnitude(data, sigma)
    if region is None:
        region = data > 0.05 * float(np.percentile(data, 99.5)) if data.any() else np.zeros(data.shape, bool)
    inside = np.asarray(region, dtype=bool)
    if not inside.any():
        return np.zeros(data.shape, dtype=bool)
    return (magnitude > np.quantile(magnitude[inside], quantile)) & inside


def _slices(mask: np.ndarray | None, shape: tuple[int, ...]) -> tuple[int, int, int]:
    if mask is not None and mask.any():
        return tuple(int(round(c)) for c in ndimage.center_of_mass(mask))  # type: ignore[return-value]
    return (shape[0] // 2, int(shape[1] * 0.55), int(shape[2] * 0.55))


def plot_preprocess_qc(
    t1w_mni: nib.spatialimages.SpatialImage,
    path: PathLike,
    *,
    mask_mni: nib.spatialimages.SpatialImage | None = None,
    brain_mask_mni: nib.spatialimages.SpatialImage | None = None,
    title: str | None = None,
    dpi: int = 110,
) -> Path:
    """Write the QC PNG for a T1w on the ATLAS grid (and its lesion mask) to ``path``; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    template = np.asarray(load_template("t1").dataobj)
    subject = np.asarray(t1w_mni.dataobj, dtype=np.float32)
    if subject.shape != template.shape:
        raise ValueError(f"t1w_mni has shape {subject.shape}, expected the ATLAS grid {template.shape}")
    region = None
    if brain_mask_mni is not None:  # a 2 mm rim outside the brain keeps its outline
        region = ndimage.distance_transform_edt(~np.asarray(brain_mask_mni.dataobj, dtype=bool)) <= 2
    edges = edge_map(subject, region)
    lesion = np.asarray(mask_mni.dataobj, dtype=bool) if mask_mni is not None else None
    x, y, z = _slices(lesion, template.shape)
    planes = [
        ("sagittal", np.s_[x, :, :], f"x = {x - 98} mm"),
        ("coronal", np.s_[:, y, :], f"y = {y - 134} mm"),
        ("axial", np.s_[:, :, z], f"z = {z - 72} mm"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 4.0), facecolor="black")
    for ax, (name, index, where) in zip(axes, planes, strict=True):
        # Arrays are (x, y, z) in RAS; show superior / anterior up and the subject's left on the right.
        ax.imshow(template[index].T, cmap="gray", origin="lower", vmin=0, vmax=1, interpolation="nearest")
        edge = np.ma.masked_where(~edges[index].T, edges[index].T)
        ax.imshow(edge, cmap=ListedColormap(["#ffd400"]), origin="lower", alpha=0.85, interpolation="nearest")
        if lesion is not None and lesion[index].any():
            ax.contour(lesion[index].T.astype(float), levels=[0.5], colors="#ff2020", linewidths=1.4)
        ax.set_title(f"{name}, {where}", color="white", fontsize=9)
        ax.axis("off")
    legend = "registered brain edges (yellow) over MNI152NLin2009aSym"
    legend += ", lesion (red)" if lesion is not None else ""
    fig.suptitle(f"{title}\n{legend}" if title else legend, color="white", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, facecolor="black")
    plt.close(fig)
    return path
