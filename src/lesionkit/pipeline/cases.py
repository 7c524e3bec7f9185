"""The cases the batch commands (``segment``, ``preprocess``, ``run``) run on.

The discovery rules are :func:`lesionkit.io.collect_cases`'s, the one case-collection function of every
command (links followed, ambiguous files and one subject under two sites refused, an input or a case given
twice refused). This adds one batch rule: ATLAS ships a native (``space-orig``) and an MNI scan of each
subject, and a pipeline that preprocesses starts from the native one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from lesionkit.io import MNI_SPACE, Case, Prefer
from lesionkit.io import collect_cases as _collect
from lesionkit.typing import PathLike

__all__ = ["collect_cases"]


def collect_cases(
    inputs: Sequence[PathLike],
    participant_label: Iterable[str] | None = None,
    *,
    require: Literal["t1w", "mask"] = "t1w",
    native_first: bool = False,
    truth: bool = False,
    prefer: Prefer = "automatic",
) -> list[Case]:
    """The cases of every input (a file is one case, a folder any layout ``load_cohort`` reads).

    ``require``: the file every case must have (``"mask"`` reads unlabelled files as masks).
    ``native_first``: keep every space but drop an MNI152NLin2009aSym case whose subject and session also
    have a native (``space-orig``) scan. ``truth``: lesionkit's own outputs are not read as lesion masks
    (:func:`lesionkit.io.load_cohort`); ``prefer``: a case's automatic or hand-corrected (``desc-corrected``)
    mask. Raises :class:`~lesionkit.io.InvalidInputError` as
    :func:`lesionkit.io.collect_cases` does.
    """
    cases = _collect(inputs, need=require, participant_label=participant_label,
                     space=None if native_first else "auto", truth=truth, prefer=prefer)
    if native_first:
        native = {(c.subject, c.session) for c in cases if c.space != MNI_SPACE and c.t1w is not None}
        cases = [c for c in cases if c.space != MNI_SPACE or (c.subject, c.session) not in native]
    return cases
