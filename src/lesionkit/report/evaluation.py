"""The HTML report of ``lesionkit evaluate``: one self-contained page (figures inlined as PNG)."""

from __future__ import annotations

import math

import pandas as pd

from lesionkit.io.atomic import write_text
from lesionkit.metrics.pair import METRIC_KEYS
from lesionkit.report.html import escape, figure_to_data_uri, page, table
from lesionkit.report.plots import dice_vs_volume, metric_distributions, risk_coverage_curve
from lesionkit.typing import PathLike

__all__ = ["render_evaluation_report", "write_evaluation_report"]

_ORDER = ("dice", "mdsc", *METRIC_KEYS[1:])  # maximal Dice next to Dice
_DISTANCES = ("hd", "hd95", "assd")


def _number(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if math.isfinite(value) and abs(value) >= 10**digits:  # volumes: 3,360 reads better than 3.36e+03
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def _summary_table(summary: dict) -> pd.DataFrame:
    records = []
    for metric in _ORDER:
        stats = summary["metrics"].get(metric)
        if stats is None:
            continue
        finite = stats.get("finite")
        records.append(
            {
                "metric": metric,
                "mean [95 % CI]": f"{_number(stats['mean'])} [{_number(stats['ci_low'])}, {_number(stats['ci_high'])}]",
                "median": _number(stats["median"]),
                "std": _number(stats["std"]),
                "n": stats["n"],
                "inf": stats["n_inf"] or "",
                "finite-only mean [95 % CI]": (
                    f"{_number(finite['mean'])} [{_number(finite['ci_low'])}, {_number(finite['ci_high'])}]"
                    if finite
                    else ""
                ),
                "undefined": stats["n_undefined"] or "",
            }
        )
    return pd.DataFrame(records)


def _case_list(title: str, ids: list[str], css: str = "warn") -> str:
    if not ids:
        return f"<p class='note'>{escape(title)}: none.</p>"
    items = ", ".join(f"<code>{escape(i)}</code>" for i in ids)
    return f"<p class='{css}'>{escape(title)} ({len(ids)}): {items}</p>"


def _qc_section(qc: dict) -> list[str]:
    """The risk–coverage curve of the predictions' QC scores, and its figures beside the peers'."""
    caught = {name: qc[name].get("caught_at_flag_share") for name in ("qc", "random", "oracle")}
    peers = pd.DataFrame([{"flagging": label, "AURC (lower is better)": _number(qc[name]["aurc"]),
                           f"failures caught at {100 * qc['flag_share']:.0f} % flagged":
                               "–" if caught[name] is None else f"{100 * caught[name]:.0f} %"}
                          for name, label in (("qc", "QC score"), ("random", "random"), ("oracle", "oracle"))])
    return [
        "<h2>Quality control: risk–coverage</h2>",
        f"<img alt='risk-coverage curve of the QC score' src='{figure_to_data_uri(risk_coverage_curve(qc))}'>",
        table(peers),
        f"<p class='note'>{qc['n']} cases with a QC score ({qc['unscored']} without), {qc['failures']} failures "
        f"(Dice &lt; 0.5, or more than 500 mm³ predicted on a case without lesion), {qc['flagged']} flagged "
        "<code>check</code>. Cases are flagged from the highest score down; the curve is the mean Dice of the "
        "cases kept. AURC: mean of 1 − that Dice over the coverages. Random: the mean of 1000 seeded random "
        "orders; oracle: worst true Dice first. Definitions: <code>lesionkit.qc.curves</code>.</p>",
    ]


def render_evaluation_report(rows: pd.DataFrame, summary: dict, title: str = "lesionkit evaluation") -> str:
    """The report as an HTML string (see :func:`write_evaluation_report`)."""
    metrics = summary["metrics"]
    cards = [("cases", str(summary["n_cases"]))]
    if "dice" in metrics:
        cards.append(("mean Dice", _number(metrics["dice"]["mean"])))
        cards.append(("median Dice", _number(metrics["dice"]["median"])))
    if "micro_dice" in summary:
        cards.append(("micro Dice", _number(summary["micro_dice"])))
    if "mdsc" in metrics:
        cards.append(("maximal Dice", _number(metrics["mdsc"]["mean"])))
    if "lesion_f1" in metrics:
        cards.append(("lesion-wise F1", _number(metrics["lesion_f1"]["mean"])))
    n_inf = max((metrics[m]["n_inf"] for m in _DISTANCES if m in metrics), default=0)
    cards.append(("cases with inf distance", str(n_inf)))
    parts = [
        f"<h1>{escape(title)}</h1>",
        f"<p class='note'>Bootstrap: {summary['bootstrap']['n_resamples']} resamples of the cases, seed "
        f"{escape(summary['bootstrap']['seed'])}; masks from probabilities: value &ge; {summary.get('threshold', 0.5)}."
        "</p>",
        "<div class='cards'>" + "".join(f"<div class='card'>{k}<b>{v}</b></div>" for k, v in cards) + "</div>",
        "<h2>Summary</h2>",
        table(_summary_table(summary)),
        "<p class='note'>Distances are in mm. <b>inf</b>: cases where exactly one mask is empty (a missed or "
        "wholly false lesion); such a distance makes the mean inf, so the finite-only mean is shown beside it. "
        "<b>undefined</b>: TPR with no true lesion or precision with no prediction, left out of that metric. "
        "Definitions: <code>lesionkit.metrics.pair</code>.</p>",
        "<h2>Dice against lesion volume</h2>",
        f"<img alt='Dice against true lesion volume' src='{figure_to_data_uri(dice_vs_volume(rows))}'>",
        "<h2>Distributions</h2>",
        f"<img alt='per-metric distributions' src='{figure_to_data_uri(metric_distributions(rows, _ORDER))}'>",
        "<h2>Strata</h2>",
    ]
    strata = pd.DataFrame(summary.get("strata", []))
    parts.append(
        table(strata) + "<p class='note'>Means per stratum; size quartiles by true lesion volume.</p>"
        if not strata.empty
        else "<p class='note'>No strata.</p>"
    )
    if summary.get("qc"):
        parts += _qc_section(summary["qc"])
    parts += [
        "<h2>Matching</h2>",
        _case_list("Missing predictions (scored as empty masks)", summary.get("missing_predictions", [])),
        _case_list("Predictions with no true case (ignored)", summary.get("extra_predictions", [])),
        "<h2>Per case</h2><details><summary>show the table</summary>",
        table(rows.drop(columns=["prediction"], errors="ignore")),
        "</details>",
    ]
    return page(title, "\n".join(parts))


def write_evaluation_report(rows: pd.DataFrame, summary: dict, path: PathLike, title: str = "lesionkit evaluation"):
    """Write the report atomically to ``path`` and return the path."""
    return write_text(path, render_evaluation_report(rows, summary, title))
