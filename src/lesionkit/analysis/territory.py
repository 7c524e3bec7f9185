"""Arterial territory of a lesion: its share in each territory and the majority one.

Territories are the JHU arterial-territory atlas (Liu et al. 2023) on the ATLAS grid: level 1 (30
territories, ``lesionkit.io.load_territories``) or level 2 (8: ACA, MCA, PCA, vertebro-basilar per side,
:func:`lesionkit.analysis.roi.builtin_atlas`). Shares are fractions of the lesion's voxels; voxels in no
territory (ventricles, outside the atlas) count in ``none``, so the shares of a lesion sum to 1.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["majority_territory", "territory_shares"]


def territory_shares(labels: np.ndarray, names: Mapping[int, str]) -> dict[str, float]:
    """Share of the voxels ``labels`` (the atlas values at the lesion's voxels) in each named territory.

    Returns every name of ``names`` (0.0 where absent) plus ``none`` for unlabelled voxels; empty
    input gives all zeros.
    """
    values = np.asarray(labels).ravel().astype(np.int64, copy=False)
    top = max(max(names, default=0), int(values.max(initial=0)))
    counts = np.bincount(values, minlength=top + 1).astype(float)
    total = counts.sum()
    scale = 1.0 / total if total else 0.0
    shares = {name: float(counts[label]) * scale for label, name in names.items()}
    named = np.zeros(top + 1, dtype=bool)
    named[list(names)] = True
    shares["none"] = float(counts[~named].sum()) * scale
    return shares


def majority_territory(shares: Mapping[str, float]) -> str:
    """The named territory holding the largest share (first in order on a tie); ``none`` if none holds any."""
    best, best_share = "none", 0.0
    for name, share in shares.items():
        if name != "none" and share > best_share:
            best, best_share = name, share
    return best
