"""Accepted / rejected per case: ``review.tsv`` at the root of the derivatives folder.

One row per case that has a decision (``case_id``, ``status``, ``reviewer``, ``time`` in UTC, and the
SHA-256 of the mask file that was accepted or rejected, so a decision about an earlier version of a mask
can be told apart). The file is rewritten whole, atomically, under the folder's lock
(:func:`lesionkit.review.locking.folder_lock`), and listed in the folder's ``.bidsignore`` (a BIDS
derivatives dataset has no name for it; the corrected masks and their sidecars are valid BIDS).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import asdict, dataclass
from pathlib import Path

from lesionkit.io import InvalidInputError, write_text
from lesionkit.typing import PathLike

__all__ = ["REVIEW_TABLE", "STATUSES", "Decision", "read_decisions", "write_decision"]

#: The file name, at the derivatives root.
REVIEW_TABLE = "review.tsv"
#: What a reviewer can decide about a case ("todo" removes the decision).
STATUSES = ("accepted", "rejected")
_COLUMNS = ("case_id", "status", "reviewer", "time", "mask_sha256")


@dataclass(frozen=True)
class Decision:
    case_id: str
    status: str
    reviewer: str
    time: str
    mask_sha256: str


def read_decisions(root: PathLike) -> dict[str, Decision]:
    """The decisions recorded under ``root`` by case id (empty without a table)."""
    path = Path(root) / REVIEW_TABLE
    if not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInputError(path, f"cannot read the review table ({error})") from error
    rows = csv.DictReader(io.StringIO(text), delimiter="\t")
    if rows.fieldnames is None or not set(_COLUMNS) <= set(rows.fieldnames):
        if not text.strip():
            return {}
        raise InvalidInputError(path, f"needs the columns {', '.join(_COLUMNS)}")
    return {row["case_id"]: Decision(**{k: row[k] or "" for k in _COLUMNS}) for row in rows if row["case_id"]}


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def write_decision(root: PathLike, case_id: str, status: str, reviewer: str, mask_sha256: str) -> Decision | None:
    """Record ``status`` (one of :data:`STATUSES`, or ``"todo"`` to clear it) for ``case_id``; returns the
    decision (None when cleared). The caller holds the folder lock."""
    if status not in (*STATUSES, "todo"):
        raise ValueError(f"status must be one of {', '.join(STATUSES)} or todo, not {status!r}")
    decisions = read_decisions(root)
    decision = None
    if status == "todo":
        decisions.pop(case_id, None)
    else:
        decision = decisions[case_id] = Decision(case_id, status, reviewer, _utc_now(), mask_sha256)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, _COLUMNS, delimiter="\t", lineterminator="\n")
    writer.writeheader()
    for key in sorted(decisions):
        writer.writerow(asdict(decisions[key]))
    write_text(Path(root) / REVIEW_TABLE, buffer.getvalue())
    _bidsignore(Path(root))
    return decision


def _bidsignore(root: Path) -> None:
    """In a BIDS derivatives dataset, list the table in ``.bidsignore`` (BIDS has no name for it)."""
    if not (root / "dataset_description.json").is_file():
        return
    ignore = root / ".bidsignore"
    lines = ignore.read_text(encoding="utf-8").splitlines() if ignore.is_file() else []
    if REVIEW_TABLE not in lines:
        write_text(ignore, "\n".join([*lines, REVIEW_TABLE]) + "\n")
