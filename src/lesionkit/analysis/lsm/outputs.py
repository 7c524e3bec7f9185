"""What a mapping leaves: maps on the masks' grid, the power map, the cluster and region tables.

* **Maps** (float32, the masks' grid and affine): the statistic, the uncorrected and corrected p (1 where
  no test ran), the thresholded statistic (the statistic where significant, 0 elsewhere), the number of
  lesioned subjects per tested voxel, and the **power map**: the minimum detectable effect (Cohen's d,
  two groups of the voxel's sizes, 80 % power, one-sided unless two-sided) at the level the correction
  demands — the permutation threshold of FWE/cFWE for the t-like tests (Welch, Brunner–Munzel,
  regression), else Bonferroni over patches for FWE/cFWE and the uncorrected alpha for FDR/none (a bound:
  FDR's real level depends on the data). 0 where no test was possible. Infinite values (Brunner–Munzel
  where lesioned and spared scores do not overlap) are stored as ±1e6.
* **Clusters**: face-connected components of the thresholded map (``lesionkit.core``'s labelling), with
  size, peak (statistic, MNI mm), and the share of the cluster in each region of the atlases given.
* **Regions**: for the whole significant map and for each cluster, voxels and share per region of each
  atlas — the JHU arterial territories (levels 1 and 2, :func:`lesionkit.analysis.builtin_atlas`) when the
  masks are on the ATLAS grid or its k-mm subsampling, and any user parcellation on the masks' grid.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from lesionkit.analysis.location import atlas_step
from lesionkit.analysis.lsm.mapping import LSMResult
from lesionkit.analysis.roi import Atlas, builtin_atlas
from lesionkit.analysis.territory import majority_territory, territory_shares
from lesionkit.core import label_components

__all__ = ["CLUSTER_COLUMNS", "REGION_COLUMNS", "atlases_for", "cluster_table", "minimum_detectable_effect",
           "region_table", "result_maps"]

CLUSTER_COLUMNS = ("cluster", "voxels", "volume_mm3", "peak_stat", "peak_x", "peak_y", "peak_z", "mean_stat")
REGION_COLUMNS = ("cluster", "atlas", "region", "voxels", "share")
_T_LIKE = ("ttest", "bm", "regression")
POWER = 0.8
CAP = 1e6


def atlases_for(result: LSMResult, extra: Sequence[Atlas] = ()) -> list[Atlas]:
    """The built-in territory atlases where the grid allows them, then ``extra`` (user parcellations)."""
    step = atlas_step(result.matrix.affine, result.matrix.shape)
    builtin = [builtin_atlas(level, step) for level in (1, 2)] if step is not None else []
    return builtin + list(extra)


def _critical(result: LSMResult) -> float:
    settings = result.settings
    alpha = settings.alpha / 2 if settings.two_sided else settings.alpha
    if settings.correction in ("fwe", "cfwe"):
        if settings.test in _T_LIKE and np.isfinite(result.threshold):
            return float(result.threshold)
        return float(scipy_stats.norm.isf(alpha / max(1, result.matrix.patches.shape[1])))
    return float(scipy_stats.norm.isf(alpha))


def minimum_detectable_effect(result: LSMResult) -> np.ndarray:
    """Per patch, the smallest Cohen's d detectable with 80 % power at the correction's level."""
    n_l = result.matrix.patches.sum(axis=0).astype(float)
    n_s = result.matrix.patches.shape[0] - n_l
    return (_critical(result) + scipy_stats.norm.isf(1 - POWER)) * np.sqrt(1 / n_l + 1 / n_s)


def result_maps(result: LSMResult) -> dict[str, np.ndarray]:
    """Grid-shaped float32 maps keyed by their file name part (``stat``, ``p``, ``pcorr``, ``thresholded``…)."""
    m = result.matrix
    # BM is infinite where the groups' scores do not overlap: the maps hold ±CAP there (finite, readable back)
    statistic = np.clip(np.nan_to_num(result.statistic, nan=0.0), -CAP, CAP)
    thresholded = np.where(result.significant, statistic, 0.0)
    return {
        "stat": m.to_volume(statistic),
        "p": m.to_volume(result.p, fill=1.0),
        "pcorr": m.to_volume(result.p_corrected, fill=1.0),
        "thresholded": m.to_volume(thresholded),
        "lesioned": m.to_volume(m.patches.sum(axis=0), dtype=np.float32),
        "mde": m.to_volume(np.minimum(minimum_detectable_effect(result), CAP)),
    }


def _world(affine: np.ndarray, ijk: np.ndarray) -> np.ndarray:
    return affine[:3, :3] @ np.asarray(ijk, dtype=float) + affine[:3, 3]


def _clusters(thresholded: np.ndarray) -> tuple[np.ndarray, int]:
    return label_components(thresholded != 0)


def cluster_table(result: LSMResult, thresholded: np.ndarray, atlases: Sequence[Atlas] = ()) -> pd.DataFrame:
    """One row per cluster, largest first: size, peak and mean statistic, peak in mm, majority region per atlas."""
    labels, count = _clusters(thresholded)
    rows = []
    for label in range(1, count + 1):
        inside = labels == label
        values = thresholded[inside]
        peak_index = np.argwhere(inside)[np.argmax(np.abs(values))]
        x, y, z = _world(result.matrix.affine, peak_index)
        size = int(inside.sum())
        row = {"cluster": label, "voxels": size, "volume_mm3": size * result.matrix.voxel_mm3,
               "peak_stat": float(values[np.argmax(np.abs(values))]), "peak_x": float(x), "peak_y": float(y),
               "peak_z": float(z), "mean_stat": float(values.mean())}
        for atlas in atlases:
            shares = territory_shares(atlas.labels[inside], atlas.names)
            best = majority_territory(shares)
            row[f"{atlas.name}_peak"] = atlas.names.get(int(atlas.labels[tuple(peak_index)]), "none")
            row[f"{atlas.name}_majority"] = best
            row[f"{atlas.name}_majority_share"] = shares.get(best, 0.0)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(CLUSTER_COLUMNS) if not rows else None)
    if rows:
        frame = frame.sort_values(["voxels", "cluster"], ascending=[False, True], kind="stable")
    return frame.reset_index(drop=True)


def region_table(thresholded: np.ndarray, atlases: Sequence[Atlas]) -> pd.DataFrame:
    """Voxels and share per region of the whole significant map (``cluster`` = ``all``) and of each cluster."""
    labels, count = _clusters(thresholded)
    rows = []
    for atlas in atlases:
        groups = [("all", labels > 0)] + [(str(k), labels == k) for k in range(1, count + 1)]
        for name, inside in groups:
            total = int(inside.sum())
            if total == 0:
                continue
            shares = territory_shares(atlas.labels[inside], atlas.names)
            for region, share in sorted(shares.items(), key=lambda item: -item[1]):
                if share > 0:
                    rows.append({"cluster": name, "atlas": atlas.name, "region": region,
                                 "voxels": int(round(share * total)), "share": share})
    return pd.DataFrame(rows, columns=list(REGION_COLUMNS))
