"""What QC writes: ``qc.tsv`` at the derivatives root and a ``"qc"`` object in each mask's JSON sidecar.

``qc.tsv`` has one row per case and the columns of :data:`QC_COLUMNS` (``lesionkit review`` sorts its case
list by them; keep the names): ``case_id``, ``subject``, ``session``, ``qc_score``, ``qc_flag``, ``qc_reasons``
(``; ``-separated), ``mask`` (its path relative to the table), then the features of
:data:`lesionkit.qc.features.FEATURES` and :data:`lesionkit.qc.cohort.COHORT_FEATURES`. Undefined values are
``n/a``, as BIDS writes them. Rows are sorted by case id.

The sidecar's ``qc`` object holds the same verdict (``score``, ``flag``, ``reasons`` as a list), the
``features``, the ``cohort`` part (``volume_z``, ``count_z``, ``cases``: how many cases they were computed
over; null before the batch finished), the ``members`` the agreement was measured over and the weights
used (``weights``: their fit's id). Undefined values are null.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from lesionkit.io import InvalidInputError, write_text
from lesionkit.qc.cohort import COHORT_FEATURES
from lesionkit.qc.features import FEATURES
from lesionkit.typing import PathLike

__all__ = ["QC_COLUMNS", "QC_TABLE", "json_clean", "read_qc_table", "update_sidecar", "write_qc_table"]

QC_TABLE = "qc.tsv"
QC_COLUMNS = ("case_id", "subject", "session", "qc_score", "qc_flag", "qc_reasons", "mask", *FEATURES,
              *COHORT_FEATURES)
REASON_SEPARATOR = "; "


def json_clean(value: Any) -> Any:
    """``value`` with NaN/inf as null (JSON has no NaN) and NumPy scalars as Python numbers."""
    if isinstance(value, Mapping):
        return {str(k): json_clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_qc_table(rows: Iterable[Mapping[str, Any]], path: PathLike) -> Path:
    """Write ``qc.tsv`` (see the module docstring) atomically; returns its path."""
    table = pd.DataFrame(list(rows))
    for column in QC_COLUMNS:
        if column not in table:
            table[column] = None
    table = table[list(QC_COLUMNS)].sort_values("case_id", kind="stable") if len(table) else table[list(QC_COLUMNS)]
    table["qc_reasons"] = [REASON_SEPARATOR.join(r) if isinstance(r, list | tuple) else (r or "")
                           for r in table["qc_reasons"]]
    text = table.to_csv(sep="\t", index=False, na_rep="n/a", float_format="%.6g", lineterminator="\n")
    return write_text(path, text)


def read_qc_table(path: PathLike) -> pd.DataFrame:
    """Read a ``qc.tsv``; ``qc_reasons`` come back as lists. Refuses a table without the QC columns."""
    path = Path(path)
    try:
        table = pd.read_csv(path, sep="\t", na_values=["n/a"], keep_default_na=False,
                            dtype={"case_id": str, "subject": str, "session": str, "qc_flag": str, "qc_reasons": str})
    except (OSError, ValueError) as error:
        raise InvalidInputError(path, f"cannot read the QC table ({error})") from error
    missing = [c for c in ("case_id", "qc_score", "qc_flag", "qc_reasons") if c not in table]
    if missing:
        raise InvalidInputError(path, f"is not a QC table (no {', '.join(missing)} column)")
    table["qc_reasons"] = [[r for r in str(v).split(REASON_SEPARATOR) if r] if isinstance(v, str) else []
                           for v in table["qc_reasons"]]
    return table


def update_sidecar(path: PathLike, qc: Mapping[str, Any]) -> Path:
    """Set the ``qc`` object of a JSON sidecar (every other entry, the provenance too, is kept); atomic."""
    path = Path(path)
    try:
        sidecar = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, ValueError) as error:
        raise InvalidInputError(path, f"cannot read the JSON sidecar ({error})") from error
    if not isinstance(sidecar, dict):
        raise InvalidInputError(path, "the JSON sidecar is not an object")
    qc = json_clean(dict(qc))
    if sidecar.get("qc") == qc:
        return path  # unchanged: a rerun that skipped every subject leaves the files as they were
    sidecar["qc"] = qc
    return write_text(path, json.dumps(sidecar, indent=2) + "\n")
