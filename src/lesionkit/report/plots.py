"""Figures of an evaluation: Dice against lesion volume (Tomita et al. Fig. 3), metric distributions, and the
risk–coverage curve of the predictions' QC scores."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["dice_vs_volume", "metric_distributions", "risk_coverage_curve"]

_LABELS = {
    "dice": "Dice",
    "mdsc": "maximal Dice",
    "hd": "HD (mm)",
    "hd95": "HD95 (mm)",
    "assd": "ASSD (mm)",
    "tpr": "TPR",
    "precision": "precision",
    "volume_difference": "|volume difference| (mm³)",
    "lesion_count_difference": "|lesion count difference|",
    "lesion_f1": "lesion-wise F1",
}


def _figure(width: float, height: float, n_rows: int = 1, n_cols: int = 1):
    """A pyplot-free figure (no global state, no GUI backend) and its axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.subplots(n_rows, n_cols, squeeze=False)


def dice_vs_volume(rows: pd.DataFrame, metric: str = "dice"):
    """Scatter of per-case Dice against true lesion volume on a log axis, one colour per cohort.

    Cases whose truth is empty have no place on a log axis; they are counted in the title.
    Missing predictions are drawn as open red circles.
    """
    fig, axes = _figure(7.0, 4.2)
    ax = axes[0, 0]
    lesion = rows["truth_volume"] > 0
    cohorts = rows["cohort"].fillna("–") if "cohort" in rows else pd.Series("–", index=rows.index)
    missing = rows["prediction"].eq("missing") if "prediction" in rows else pd.Series(False, index=rows.index)
    for name in sorted(cohorts[lesion].unique()):
        pick = lesion & cohorts.eq(name) & ~missing
        ax.scatter(rows.loc[pick, "truth_volume"], rows.loc[pick, metric], s=22, alpha=0.8, label=str(name))
    if (lesion & missing).any():
        pick = lesion & missing
        ax.scatter(
            rows.loc[pick, "truth_volume"],
            rows.loc[pick, metric],
            s=40,
            facecolors="none",
            edgecolors="red",
            label="missing prediction",
        )
    ax.set_xscale("log")
    if lesion.any():  # half a decade of room so points at the extremes are not cut by the frame
        volumes = rows.loc[lesion, "truth_volume"]
        ax.set_xlim(volumes.min() / 10**0.25, volumes.max() * 10**0.25)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("true lesion volume (mm³, log scale)")
    ax.set_ylabel(_LABELS.get(metric, metric))
    ax.grid(True, which="both", alpha=0.25)
    n_empty = int((~lesion).sum())
    title = f"{_LABELS.get(metric, metric)} against lesion volume ({int(lesion.sum())} cases"
    ax.set_title(title + (f"; {n_empty} with no true lesion not shown)" if n_empty else ")"), fontsize=10)
    handles, _ = ax.get_legend_handles_labels()
    if 1 < len(handles) <= 16:  # outside the axes: points near Dice 0 or 1 stay visible
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="cohort", title_fontsize=8)
    return fig


def metric_distributions(rows: pd.DataFrame, metrics: Sequence[str]):
    """One panel per metric: box plot plus the cases as jittered points; ``inf`` and NaN counted, not drawn."""
    metrics = [m for m in metrics if m in rows]
    cols = min(4, max(1, len(metrics)))
    n_rows = int(np.ceil(len(metrics) / cols))
    fig, axes = _figure(3.0 * cols, 2.8 * n_rows, n_rows, cols)
    rng = np.random.default_rng(0)  # jitter only: fixed so reports are reproducible
    for ax, metric in zip(axes.ravel(), metrics, strict=False):
        values = rows[metric].to_numpy(dtype=np.float64)
        finite = values[np.isfinite(values)]
        n_inf, n_nan = int(np.isinf(values).sum()), int(np.isnan(values).sum())
        if finite.size:
            ax.boxplot(finite, widths=0.5, showfliers=False)
            ax.scatter(1 + rng.uniform(-0.15, 0.15, finite.size), finite, s=9, alpha=0.6, color="tab:blue")
        ax.set_xticks([])
        ax.set_title(_LABELS.get(metric, metric), fontsize=9)
        notes = [f"{n_inf} inf" if n_inf else "", f"{n_nan} undefined" if n_nan else ""]
        note = ", ".join(n for n in notes if n)
        if note:
            ax.text(0.5, -0.08, note, transform=ax.transAxes, ha="center", va="top", fontsize=8, color="#a40")
        ax.tick_params(labelsize=8)
        ax.grid(True, axis="y", alpha=0.25)
    for ax in axes.ravel()[len(metrics) :]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def risk_coverage_curve(result: dict):
    """Mean Dice of the kept cases as the flagged share grows, for the QC score and its random and oracle peers
    (``result``: :func:`lesionkit.qc.curves.risk_coverage`)."""
    fig, axes = _figure(6.0, 4.0)
    ax = axes[0, 0]
    styles = {"qc": ("QC score", "-", "C0"), "random": ("random flags", "--", "0.5"), "oracle": ("oracle (true Dice)",
                                                                                              ":", "C2")}
    for name, (label, line, colour) in styles.items():
        curve = np.asarray(result[name]["curve"], dtype=float)
        ax.plot(100 * curve[:, 0], curve[:, 1], line, color=colour, lw=1.8,
                label=f"{label}: AURC {result[name]['aurc']:.3f}")
    share = 100 * result.get("flag_share", 0.2)
    ax.axvline(share, color="0.7", lw=0.8)
    caught, cap = result["qc"].get("caught_at_flag_share"), result["oracle"].get("caught_at_flag_share")
    if caught is not None:  # beside the oracle's, which caps it when failures outnumber the flags
        ax.text(share + 1, ax.get_ylim()[0], f" {100 * caught:.0f} % of {result['failures']} failures caught"
                f" (oracle {100 * cap:.0f} %)", fontsize=8, va="bottom")
    ax.set_xlim(0, 100)
    ax.set_xlabel("cases flagged, highest QC score first (%)")
    ax.set_ylabel("mean Dice of the kept cases")
    ax.set_title(f"Risk–coverage of the QC score ({result['n']} cases)", fontsize=10)
    ax.grid(True, alpha=0.25)
    ax.legend(fontsize=8, loc="upper left")  # the curves start low at the left and rise to the right
    return fig
