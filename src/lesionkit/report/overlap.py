"""``overlap_report``: what ``lesionkit overlap`` and the group level of ``lesionkit run`` write.

The probabilistic overlap map of a set of lesion masks (:func:`lesionkit.analysis.overlap_maps`) as
``overlap_count.nii.gz`` (uint16), ``overlap_share.nii.gz`` (float32) and, unless asked not to, the figure
``overlap.png`` (:func:`lesionkit.report.analysis.plot_overlap_map`). The maps are complete before the first
write, and each file is written atomically, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib

from lesionkit.analysis.overlap import MaskSource, overlap_maps
from lesionkit.io import collect_cases, save_nifti
from lesionkit.typing import PathLike

__all__ = ["OVERLAP_FILES", "OverlapReport", "overlap_report"]

OVERLAP_FILES = ("overlap_count.nii.gz", "overlap_share.nii.gz", "overlap.png")


@dataclass(frozen=True)
class OverlapReport:
    """The maps and where they were written (``paths`` by file name, the figure only when drawn)."""

    count: nib.Nifti1Image
    share: nib.Nifti1Image
    n_masks: int
    paths: dict[str, Path] = field(default_factory=dict)

    @property
    def peak(self) -> int:
        """The most subjects sharing one voxel."""
        return int(self.count.dataobj.max())


def _sources(masks: Iterable[MaskSource], participant_label: Iterable[str] | None) -> Sequence[MaskSource]:
    items = list(masks)
    if items and all(isinstance(m, str | os.PathLike) for m in items):
        # One case per subject: the same file twice, or one subject in two inputs, is refused.
        return collect_cases(items, need="mask", participant_label=participant_label)
    return items


def overlap_report(
    masks: Iterable[MaskSource],
    out: PathLike,
    *,
    participant_label: Iterable[str] | None = None,
    figure: bool = True,
    n_slices: int = 8,
    progress: Callable[[int, int], None] | None = None,
) -> OverlapReport:
    """Write the overlap maps of ``masks`` (and their figure) to the folder ``out``; see the module docstring.

    ``masks``: mask files and folders of any layout :func:`lesionkit.io.collect_cases` reads (then
    ``participant_label`` keeps only those subjects of folder inputs), or :class:`~lesionkit.io.Case` objects
    and in-memory images. ``progress(done, total)`` is called after each mask is added. The figure warns
    (:class:`UserWarning`) when the masks do not look like MNI152NLin2009aSym space.
    """
    sources = _sources(masks, participant_label)
    total = len(sources)
    count, share = overlap_maps(sources, progress=None if progress is None else lambda n: progress(n, total))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    if figure:
        from lesionkit.report.analysis import plot_overlap_map

        paths["overlap.png"] = plot_overlap_map(share, out / "overlap.png", total, n_slices=n_slices)
    paths["overlap_count.nii.gz"] = save_nifti(count, out / "overlap_count.nii.gz")
    paths["overlap_share.nii.gz"] = save_nifti(share, out / "overlap_share.nii.gz")
    return OverlapReport(count, share, total, paths)
