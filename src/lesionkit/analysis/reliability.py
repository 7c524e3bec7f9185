"""Inter- and intra-rater reliability of lesion tracings (ATLAS R1.1 "Technical Validation").

Each rater (or each tracing session of one rater) is a folder of masks. Subjects are matched across
folders by BIDS subject and session; for every subject and every pair of raters the masks are
compared with :func:`lesionkit.metrics.evaluate_pair` (Dice, Hausdorff distance, HD95 — the one
definition of each, see :mod:`lesionkit.metrics.pair`), and per pair of raters the lesion volumes
are compared with the intraclass correlation ICC(2,1) of :func:`icc_2_1`.

Conventions follow the metrics module: two empty masks have Dice 1 and HD 0; one empty mask gives
HD ``inf``, which is kept (a mean with an ``inf`` is ``inf``, and ``n_hd_inf`` counts them) rather
than averaged away.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from lesionkit.io import Case, InvalidInputError, check_same_grid, load_case_mask, load_cohort, write_text
from lesionkit.metrics import evaluate_pair
from lesionkit.typing import PathLike

__all__ = [
    "ICCResult",
    "PAIR_COLUMNS",
    "SUMMARY_COLUMNS",
    "icc_2_1",
    "load_raters",
    "match_raters",
    "rater_pairs",
    "ReliabilityReport",
    "reliability_report",
    "summarize_pairs",
]

PAIR_COLUMNS = ("subject", "rater_a", "rater_b", "dice", "hd", "hd95", "volume_a_mm3", "volume_b_mm3")
SUMMARY_COLUMNS = ("pair", "n", "dice_mean", "dice_sd", "hd_mean", "hd_sd", "icc", "icc_ci_low", "icc_ci_high",
                   "n_hd_inf")
MatchBy = Literal["id", "subject"]


@dataclass(frozen=True)
class ICCResult:
    """ICC(2,1) with its F-based confidence interval and the F test of ICC = 0 (McGraw & Wong 1996)."""

    icc: float
    ci_low: float
    ci_high: float
    f: float
    df1: int
    df2: int
    p: float


def icc_2_1(ratings: np.ndarray, confidence: float = 0.95) -> ICCResult:
    """ICC(2,1): two-way random effects, absolute agreement, single rater.

    Shrout & Fleiss (1979) ICC(2,1); McGraw & Wong (1996) ICC(A,1). ``ratings`` is an ``n × k`` array,
    ``n`` subjects (rows) rated by the same ``k`` raters (columns). With the two-way ANOVA mean squares

    * rows (subjects):  MSR = k · Σᵢ (x̄ᵢ. − x̄)² / (n − 1)
    * columns (raters): MSC = n · Σⱼ (x̄.ⱼ − x̄)² / (k − 1)
    * residual:         MSE = (SST − SSR − SSC) / ((n − 1)(k − 1)),  SST = Σᵢⱼ (xᵢⱼ − x̄)²

    ICC = (MSR − MSE) / (MSR + (k − 1)·MSE + k·(MSC − MSE)/n).

    Confidence interval (McGraw & Wong 1996, Table 7, case 2A; as in SPSS and ``pingouin``):
    a = k·ICC / (n(1 − ICC)),  b = 1 + k·ICC(n − 1) / (n(1 − ICC)),
    v = (a·MSC + b·MSE)² / ((a·MSC)²/(k − 1) + (b·MSE)²/((n − 1)(k − 1))),
    F_L = F⁻¹(1 − α/2; n − 1, v),  F_U = F⁻¹(1 − α/2; v, n − 1),
    low = n(MSR − F_L·MSE) / (F_L(k·MSC + (kn − k − n)MSE) + n·MSR),
    high = n(F_U·MSR − MSE) / (k·MSC + (kn − k − n)MSE + n·F_U·MSR).

    F = MSR / MSE on (n − 1, (n − 1)(k − 1)) degrees of freedom tests ICC = 0 (one-sided ``p``).
    Fewer than 2 subjects or raters, or no variance at all, give NaN. Perfect agreement (MSE = MSC = 0)
    gives ICC 1 with the interval [1, 1] (the limit of the formulas).
    """
    from scipy import stats

    x = np.asarray(ratings, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"ratings must be an n × k array, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("ratings contain NaN or infinite values")
    n, k = x.shape
    nan = float("nan")
    if n < 2 or k < 2:
        return ICCResult(nan, nan, nan, nan, max(n - 1, 0), max((n - 1) * (k - 1), 0), nan)
    grand = x.mean()
    ssr = k * float(((x.mean(axis=1) - grand) ** 2).sum())
    ssc = n * float(((x.mean(axis=0) - grand) ** 2).sum())
    sst = float(((x - grand) ** 2).sum())
    df1, df2 = n - 1, (n - 1) * (k - 1)
    msr, msc = ssr / df1, ssc / (k - 1)
    mse = max(sst - ssr - ssc, 0.0) / df2  # clip the rounding error of a perfect fit
    if sst == 0:  # every rating equal: agreement is undefined, not perfect
        return ICCResult(nan, nan, nan, nan, df1, df2, nan)
    if mse <= 1e-12 * sst and msc <= 1e-12 * sst:  # raters agree exactly on every subject
        return ICCResult(1.0, 1.0, 1.0, float("inf"), df1, df2, 0.0)
    icc = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    f_value = msr / mse if mse > 0 else float("inf")
    p = float(stats.f.sf(f_value, df1, df2)) if math.isfinite(f_value) else 0.0
    alpha = 1.0 - confidence
    a = k * icc / (n * (1.0 - icc))
    b = 1.0 + k * icc * (n - 1) / (n * (1.0 - icc))
    v_denominator = (a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / df2
    if v_denominator == 0:  # only for degenerate negative ICCs (b = 0 and MSC = 0): no interval
        return ICCResult(float(icc), nan, nan, float(f_value), df1, df2, p)
    v = (a * msc + b * mse) ** 2 / v_denominator
    f_low = float(stats.f.ppf(1.0 - alpha / 2, df1, v))
    f_high = float(stats.f.ppf(1.0 - alpha / 2, v, df1))
    low = n * (msr - f_low * mse) / (f_low * (k * msc + (k * n - k - n) * mse) + n * msr)
    high = n * (f_high * msr - mse) / (k * msc + (k * n - k - n) * mse + n * f_high * msr)
    return ICCResult(float(icc), float(low), float(high), float(f_value), df1, df2, p)


def _key(case: Case, by: MatchBy) -> str:
    return case.id if by == "id" else f"sub-{case.subject}"


def match_raters(
    cohorts: Mapping[str, Sequence[Case]], by: MatchBy = "id"
) -> tuple[dict[str, dict[str, Case]], dict[str, list[str]]]:
    """Match cases across raters: ``({subject: {rater: case}}, {subject: [raters missing it]})``.

    ``by="id"`` matches subject and session (``sub-X_ses-1``); ``by="subject"`` ignores the session
    (two tracing sessions of one rater stored as ``ses-1`` and ``ses-2``). Cases without a mask are
    ignored. A rater with two cases under one key is an error.
    """
    found: dict[str, dict[str, Case]] = {}
    for rater, cases in cohorts.items():
        for case in cases:
            if case.mask is None:
                continue
            key = _key(case, by)
            slot = found.setdefault(key, {})
            if rater in slot:
                raise InvalidInputError(case.mask, f"rater {rater!r} has two masks for {key} "
                                        f"(first: {slot[rater].mask}); match by subject and session instead")
            slot[rater] = case
    matched = {key: found[key] for key in sorted(found) if len(found[key]) == len(cohorts)}
    missing = {key: [r for r in cohorts if r not in found[key]] for key in sorted(found) if key not in matched}
    return matched, missing


def load_raters(
    folders: Sequence[PathLike],
    names: Sequence[str] | None = None,
    by: MatchBy = "id",
    participant_label: Sequence[str] | None = None,
) -> tuple[dict[str, dict[str, Case]], list[str]]:
    """Read each rater's folder (any layout :func:`~lesionkit.io.load_cohort` reads) and match subjects.

    Returns the matched cases and the rater names (``names``, or the folder names). Subjects missing for
    some rater are excluded with a :class:`UserWarning` listing them; no subject shared by all raters, and
    one folder given for two raters, are an :class:`~lesionkit.io.InvalidInputError`.
    """
    if len(folders) < 2:
        raise ValueError("reliability needs at least two rater folders")
    if names is None:
        names = [Path(f).name or str(f) for f in folders]
        if len(set(names)) != len(names):
            names = [f"rater{i + 1}" for i in range(len(folders))]
    if len(names) != len(folders) or len(set(names)) != len(names):
        raise ValueError(f"need {len(folders)} distinct rater names, got {list(names)}")
    seen: dict[str, PathLike] = {}
    for folder in folders:  # one folder twice would be "perfect agreement" of a rater with itself
        real = os.path.realpath(folder)
        if real in seen:
            also = "" if str(seen[real]) == str(folder) else f" (also as {seen[real]})"
            raise InvalidInputError(folder, f"is given twice as a rater folder{also}")
        seen[real] = folder
    cohorts = {name: load_cohort(folder, participant_label, default_role="mask")
               for name, folder in zip(names, folders, strict=True)}
    matched, missing = match_raters(cohorts, by)
    if missing:
        listed = "; ".join(f"{key} (missing for {', '.join(raters)})" for key, raters in missing.items())
        warnings.warn(f"{len(missing)} subject(s) not traced by every rater, excluded: {listed}", stacklevel=2)
    if not matched:
        raise InvalidInputError(folders[0], f"no subject has a mask from every rater ({', '.join(names)})")
    return matched, list(names)


def rater_pairs(
    matched: Mapping[str, Mapping[str, Case]],
    raters: Sequence[str],
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """One row per subject and pair of raters (:data:`PAIR_COLUMNS`); each mask is loaded once.

    The masks of one subject must share a grid (:func:`~lesionkit.io.check_same_grid`); distances use
    the voxel size of the mask header (mm), volumes are voxel counts × voxel volume (mm³).
    """
    rows = []
    for done, (key, cases) in enumerate(matched.items(), start=1):
        images = {rater: load_case_mask(cases[rater]) for rater in raters}
        reference = images[raters[0]]
        for rater in raters[1:]:
            check_same_grid(reference, images[rater])
        spacing = tuple(float(z) for z in reference.header.get_zooms()[:3])
        data = {rater: np.asanyarray(img.dataobj) for rater, img in images.items()}
        for a, b in combinations(raters, 2):
            metrics = evaluate_pair(data[b], data[a], spacing)  # truth = rater a: truth_volume is a's
            rows.append({"subject": key, "rater_a": a, "rater_b": b, "dice": metrics["dice"], "hd": metrics["hd"],
                         "hd95": metrics["hd95"], "volume_a_mm3": metrics["truth_volume"],
                         "volume_b_mm3": metrics["pred_volume"]})
        if progress is not None:
            progress(done)
    return pd.DataFrame(rows, columns=list(PAIR_COLUMNS))


def _stats(values: pd.Series) -> tuple[float, float]:
    """Mean and sample sd; an ``inf`` makes the mean ``inf`` and the sd NaN (never dropped)."""
    x = values.to_numpy(dtype=np.float64)
    if x.size == 0:
        return float("nan"), float("nan")
    mean = float(np.mean(x))
    sd = float(np.std(x, ddof=1)) if x.size > 1 and np.all(np.isfinite(x)) else float("nan")
    return mean, sd


def _summary_row(name: str, rows: pd.DataFrame, volumes: np.ndarray, confidence: float) -> dict:
    dice_mean, dice_sd = _stats(rows["dice"])
    hd_mean, hd_sd = _stats(rows["hd"])
    icc = icc_2_1(volumes, confidence)
    return {"pair": name, "n": int(volumes.shape[0]), "dice_mean": dice_mean, "dice_sd": dice_sd,
            "hd_mean": hd_mean, "hd_sd": hd_sd, "icc": icc.icc, "icc_ci_low": icc.ci_low,
            "icc_ci_high": icc.ci_high, "n_hd_inf": int(np.isinf(rows["hd"].to_numpy(dtype=float)).sum())}


def summarize_pairs(pairs: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per pair of raters (``"A vs B"``): n subjects, Dice and HD mean ± sd, volume ICC(2,1) and its CI.

    With three or more raters a last row ``"all"`` pools every pair's Dice and HD (R1.1 averaged each
    tracer against all others) and gives ICC(2,1) of the n × k volume table of all raters.
    """
    out = []
    raters: list[str] = []
    for (a, b), rows in pairs.groupby(["rater_a", "rater_b"], sort=False):
        raters += [r for r in (a, b) if r not in raters]
        volumes = rows[["volume_a_mm3", "volume_b_mm3"]].to_numpy(dtype=np.float64)
        out.append(_summary_row(f"{a} vs {b}", rows, volumes, confidence))
    if len(raters) >= 3:
        table = {}
        for _, row in pairs.iterrows():
            table.setdefault(row["subject"], {})[row["rater_a"]] = row["volume_a_mm3"]
            table[row["subject"]][row["rater_b"]] = row["volume_b_mm3"]
        volumes = np.array([[by_rater[r] for r in raters] for by_rater in table.values()])
        out.append(_summary_row("all", pairs, volumes, confidence))
    return pd.DataFrame(out, columns=list(SUMMARY_COLUMNS))


@dataclass(frozen=True)
class ReliabilityReport:
    """What :func:`reliability_report` computed and wrote."""

    pairs: pd.DataFrame
    """One row per subject and pair of raters (:data:`PAIR_COLUMNS`)."""
    summary: pd.DataFrame
    """One row per pair of raters, and ``all`` with three or more (:data:`SUMMARY_COLUMNS`)."""
    raters: list[str]
    paths: dict[str, Path]


def _tsv(frame: pd.DataFrame) -> str:
    return frame.to_csv(sep="\t", index=False, na_rep="n/a", float_format="%.6g")


def reliability_report(
    folders: Sequence[PathLike],
    out: PathLike,
    *,
    names: Sequence[str] | None = None,
    by: MatchBy = "id",
    participant_label: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ReliabilityReport:
    """What ``lesionkit reliability`` does: match the raters' masks (:func:`load_raters`), compare every pair
    (:func:`rater_pairs`, :func:`summarize_pairs`) and write ``out/pairs.tsv`` and ``out/summary.tsv``
    (tab-separated, ``n/a`` for missing values, 6 significant digits).

    Both tables are complete before the first write; each file is written atomically. ``progress(done,
    total)`` is called after each subject. Warns and raises as :func:`load_raters` does.
    """
    matched, raters = load_raters(folders, names, by, participant_label)
    pairs = rater_pairs(matched, raters, None if progress is None else lambda n: progress(n, len(matched)))
    summary = summarize_pairs(pairs)
    out = Path(out)
    paths = {name: write_text(out / name, _tsv(frame)) for name, frame in (("pairs.tsv", pairs),
                                                                             ("summary.tsv", summary))}
    return ReliabilityReport(pairs, summary, raters, paths)
