"""What a participant sees of a scored submission: the phase's shown metrics only, rounded to its significant
digits, and per-case rows only where the phase shows them. Organisers see everything, exactly.

Why: the hidden truth is what a challenge protects, and exact means leak it. With an all-ones mask on one case
and nothing elsewhere, the mean precision (an empty case's precision is undefined and left out of the mean)
times the grid volume *is* that case's true volume, and two submissions' mean volume differences give it too.
A hidden phase therefore shows by default only its ranking metrics, to 3 significant digits (what ranking
needs), withholds per-case results, and caps submissions in total; ``docs/challenge.md`` works through what a
determined participant can still learn.
"""

from __future__ import annotations

from lesionkit.challenge.phases import per_case_visible, shown_figure, shown_metrics
from lesionkit.challenge.tables import Submission
from lesionkit.web.tables import User

__all__ = ["TRUTH_DERIVED", "case_keys", "case_rows", "shown", "summary"]

#: Per-case metrics that, with the participant's own prediction known, are the reference's volume or lesion count
#: (an empty prediction's volume difference *is* the true volume): never in a participant's per-case rows.
TRUTH_DERIVED = ("volume_difference", "lesion_count_difference")


def summary(submission: Submission, user: User | None) -> dict[str, float | str | None]:
    """The case means ``user`` may see (shown metrics, rounded)."""
    phase, raw = submission.phase, submission.summary or {}
    return {k: shown_figure(phase, user, raw[k]) for k in shown_metrics(phase, user) if k in raw}


def case_rows(submission: Submission, user: User | None) -> list[dict]:
    """Per-case rows ``user`` may see: none unless the phase shows per-case results and the submission is
    scored; each with the shown metrics (rounded, less :data:`TRUTH_DERIVED`) and the participant's own predicted
    volume."""
    phase = submission.phase
    if not per_case_visible(phase, user) or submission.status != "scored":
        return []
    keys = case_keys(submission, user)
    return [{"case_id": r.case_id, "missing": r.missing, "pred_volume": r.metrics.get("pred_volume"),
             **{k: shown_figure(phase, user, r.metrics.get(k)) for k in keys}} for r in submission.results]


def case_keys(submission: Submission, user: User | None) -> list[str]:
    """The per-case columns ``user`` sees: the shown metrics less :data:`TRUTH_DERIVED` (organisers: all)."""
    keys = shown_metrics(submission.phase, user)
    return keys if (user is not None and user.is_admin) else [k for k in keys if k not in TRUTH_DERIVED]


def shown(submission: Submission, user: User | None) -> dict:
    """Everything a submission page or API answer shows of the scores."""
    rows = case_rows(submission, user)
    values = summary(submission, user)
    return {"summary": values, "summary_keys": list(values), "rows": rows,
            "keys": case_keys(submission, user), "per_case": bool(rows),
            "digits": None if (user is not None and user.is_admin) else submission.phase.significant_digits}
