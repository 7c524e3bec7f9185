"""The per-case QC flags ``lesionkit qc`` writes at the root of a derivatives folder (``qc.tsv``), as the
review app reads them: which cases to look at first, and why.

Columns used: ``case_id`` (``sub-X[_ses-Y]``), ``subject``, ``session``, ``qc_score`` (0..1, higher is
more suspect), ``qc_flag`` (``ok``/``check``) and ``qc_reasons`` (``; ``-separated). Other columns are
kept as they are. A missing table is no error: the app then says "no QC" and sorts by case id.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

from lesionkit.io import InvalidInputError
from lesionkit.typing import PathLike

__all__ = ["QC_TABLE", "QcRow", "read_qc_table"]

#: The file name, at the derivatives root.
QC_TABLE = "qc.tsv"


@dataclass(frozen=True)
class QcRow:
    case_id: str
    subject: str
    session: str | None
    score: float | None
    flag: str
    reasons: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def suspect(self) -> bool:
        """Flagged for a look: any flag but ``ok``."""
        return self.flag != "ok"


def _score(text: str | None, path: Path, line: int) -> float | None:
    if text is None or text.strip() in ("", "n/a", "nan"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise InvalidInputError(path, f"line {line}: qc_score {text!r} is not a number") from None
    return value if math.isfinite(value) else None


def read_qc_table(root: PathLike) -> dict[str, QcRow] | None:
    """``root/qc.tsv`` by case id (also by ``sub-X`` alone for rows without a session), or None without one.

    Raises :class:`~lesionkit.io.InvalidInputError` naming the file for an unreadable table, one without a
    ``case_id`` or ``subject`` column, or a score that is not a number.
    """
    path = Path(root) / QC_TABLE
    if not path.is_file():
        return None
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle, delimiter="\t")
            if not reader.fieldnames or not ({"case_id", "subject"} & set(reader.fieldnames)):
                raise InvalidInputError(path, "needs a case_id or subject column")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InvalidInputError(path, f"cannot read the QC table ({error})") from error
    table: dict[str, QcRow] = {}
    known = {"case_id", "subject", "session", "qc_score", "qc_flag", "qc_reasons"}
    for line, row in enumerate(rows, start=2):
        subject = (row.get("subject") or "").removeprefix("sub-")
        session = (row.get("session") or "").removeprefix("ses-") or None
        if session in ("n/a",):
            session = None
        case_id = row.get("case_id") or (f"sub-{subject}" + (f"_ses-{session}" if session else ""))
        if not case_id or case_id == "sub-":
            continue
        reasons = tuple(r.strip() for r in (row.get("qc_reasons") or "").split(";") if r.strip() and r.strip() != "n/a")
        table[case_id] = QcRow(
            case_id=case_id, subject=subject, session=session, score=_score(row.get("qc_score"), path, line),
            flag=(row.get("qc_flag") or "").strip().lower() or "n/a", reasons=reasons,
            extra={k: v for k, v in row.items() if k not in known and k is not None and v is not None},
        )
    return table
