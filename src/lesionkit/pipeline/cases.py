"""The one place the batch commands collect their cases from their inputs.

Every command that takes files or folders (``segment``, ``preprocess``, ``run``) lists its cases here,
so there is one set of rules: each input is read by :func:`lesionkit.io.load_cohort`, cases without the
file the command needs are dropped, the same subject/session/space given twice is an error, and no case
at all is an error naming the first input.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from lesionkit.io import MNI_SPACE, Case, InvalidInputError, load_cohort
from lesionkit.typing import PathLike

__all__ = ["collect_cases"]


def collect_cases(
    inputs: Sequence[PathLike],
    participant_label: Iterable[str] | None = None,
    *,
    require: Literal["t1w", "mask"] = "t1w",
    native_first: bool = False,
) -> list[Case]:
    """The cases of every input (a file is one case, a folder any layout ``load_cohort`` reads).

    ``require``: the file every case must have (``"mask"`` reads unlabelled files as masks).
    ``native_first``: keep every space of a folder but drop an MNI152NLin2009aSym case whose subject and
    session also have a native (``space-orig``) scan: ATLAS ships both, and the MNI one is already
    preprocessed. Raises :class:`~lesionkit.io.InvalidInputError` for a missing input, one of several
    inputs without any such case, a duplicate case or no case at all.
    """
    labels = list(participant_label) if participant_label else None
    what = "T1w image" if require == "t1w" else "lesion mask"
    cases: list[Case] = []
    seen: dict[tuple[str, str | None], Path] = {}
    for item in inputs:
        path = Path(item)
        found = load_cohort(
            path, labels if path.is_dir() else None, space=None if native_first else "auto",
            default_role="mask" if require == "mask" else "t1w",
        )
        if native_first and path.is_dir():
            native = {(c.subject, c.session) for c in found if c.space != MNI_SPACE and c.t1w is not None}
            found = [c for c in found if c.space != MNI_SPACE or (c.subject, c.session) not in native]
        found = [c for c in found if (c.t1w if require == "t1w" else c.mask) is not None]
        if not found and len(inputs) > 1:
            raise InvalidInputError(path, f"holds no {what}")
        for case in found:
            anchor = case.t1w if require == "t1w" else case.mask
            key = (case.id, case.space)
            if key in seen:
                raise InvalidInputError(anchor, f"{case.id} is also given as {seen[key]}")
            seen[key] = anchor
            cases.append(case)
    if not cases:
        raise InvalidInputError(inputs[0] if inputs else None, f"no {what} found")
    return cases
