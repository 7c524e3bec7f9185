"""The figure and HTML page of a lesion–symptom mapping, in the style of lesionkit's other reports.

The figure shows the thresholded statistic over the MNI152 template (or, off the ATLAS grid, over the
lesion-overlap map) in the three planes through the peak, neurological convention (L on the left).
Rendering returns PNG bytes so the caller writes every output only once the whole analysis succeeded.
"""

from __future__ import annotations

import io

import nibabel as nib
import numpy as np
import pandas as pd

from lesionkit.analysis.location import atlas_step
from lesionkit.analysis.lsm.mapping import LSMResult
from lesionkit.report.html import escape, page, table

__all__ = ["render_figure", "render_page"]

_NAMES = {"ttest": "Welch t", "bm": "Brunner–Munzel", "regression": "OLS regression t", "chisq": "signed χ² (Yates)",
          "fisher": "−log10 Fisher p", "svr": "SVR-LSM −weight"}
_CORRECTIONS = {"fwe": "permutation FWE (max statistic)", "cfwe": "continuous FWE (v-th largest voxel)",
                "fdr": "FDR (Benjamini–Hochberg)", "none": "uncorrected"}


def _background(result: LSMResult, lesioned: np.ndarray) -> nib.Nifti1Image:
    if atlas_step(result.matrix.affine, result.matrix.shape) is not None:
        from lesionkit.io import load_template

        return load_template("t1")
    return nib.Nifti1Image(lesioned.astype(np.float32), result.matrix.affine)


def render_figure(result: LSMResult, maps: dict[str, np.ndarray], dpi: int = 110) -> bytes:
    """PNG bytes: the thresholded map (the raw statistic, faint, if nothing survived) in three planes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from nilearn import plotting

    affine = result.matrix.affine
    shown = maps["thresholded"] if result.significant.any() else maps["stat"]
    peak = np.unravel_index(np.argmax(np.abs(shown)), shown.shape)
    cut = (affine[:3, :3] @ np.asarray(peak, float) + affine[:3, 3]).tolist()
    fig = plt.figure(figsize=(11.0, 3.6), facecolor="black")
    vmax = float(np.abs(shown).max()) or 1.0
    image = nib.Nifti1Image(shown.astype(np.float32), affine)
    plotting.plot_stat_map(image, bg_img=_background(result, maps["lesioned"]), display_mode="ortho", cut_coords=cut,
                           cmap="cold_hot" if result.settings.two_sided else "hot",
                           threshold=1e-6, vmax=vmax, colorbar=True, black_bg=True, annotate=True, draw_cross=True,
                           dim=-0.3, figure=fig, axes=fig.add_axes((0.0, 0.0, 1.0, 0.86)))
    what = "thresholded" if result.significant.any() else "NOTHING SURVIVED, unthresholded"
    s = result.settings
    fig.suptitle(f"{_NAMES[s.test]}, {_CORRECTIONS[s.correction]} α = {s.alpha:g} ({what}); N = "
                 f"{len(result.behavior.subjects)}, peak at ({cut[0]:.0f}, {cut[1]:.0f}, {cut[2]:.0f}) mm, L = left",
                 color="white", fontsize=10, y=0.97)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="black")
    plt.close(fig)
    return buffer.getvalue()


def _cards(result: LSMResult) -> str:
    m, s = result.matrix, result.settings
    items = [("subjects", len(result.behavior.subjects)), ("tested voxels", f"{m.voxels.size:,}"),
             ("unique patches", f"{m.patches.shape[1]:,}"), ("min. lesioned", m.min_lesioned),
             ("permutations", s.permutations), ("threshold", f"{result.threshold:.3g}"),
             ("significant voxels", f"{result.significant_voxels:,}")]
    return '<div class="cards">' + "".join(f'<div class="card">{escape(k)}<b>{escape(v)}</b></div>'
                                           for k, v in items) + "</div>"


def render_page(result: LSMResult, clusters: pd.DataFrame, regions: pd.DataFrame, figure_name: str,
                notes: list[str]) -> str:
    """A self-contained page: the numbers, the figure (a sibling PNG), clusters, region shares, settings."""
    s = result.settings
    overall = regions[regions["cluster"] == "all"] if not regions.empty else regions
    settings = pd.DataFrame({"setting": list(s.as_dict()), "value": [str(v) for v in s.as_dict().values()]})
    body = [
        f"<h1>Lesion–symptom mapping: {escape(result.behavior.score_name)}</h1>",
        f'<p class="note">{escape(_NAMES[s.test])}; {escape(_CORRECTIONS[s.correction])}; positive = lesioned '
        "subjects score worse. Voxels lesioned in at least the minimum number of subjects (and spared in 2) are "
        "tested; identical lesion patterns are tested once.</p>",
        _cards(result),
        f'<h2>Map</h2><img src="{escape(figure_name)}" alt="thresholded statistic in three planes">',
        "<h2>Clusters</h2>" + (table(clusters) if not clusters.empty else "<p>No voxel survived.</p>"),
        "<h2>Share of the significant map per region</h2>"
        + (table(overall, float_format="{:.3f}") if not overall.empty else "<p>No voxel survived.</p>"),
        "<h2>Settings</h2>" + table(settings),
    ]
    if notes:
        body.append("<h2>Notes</h2><ul>" + "".join(f'<li class="warn">{escape(n)}</li>' for n in notes) + "</ul>")
    return page(f"LSM {result.behavior.score_name}", "\n".join(body))
