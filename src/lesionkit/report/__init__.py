"""Figures and HTML reports.

Names are imported on first use, so ``import lesionkit.report.<module>`` (e.g. from a CLI command)
does not pull in pandas through a sibling module.
"""

from __future__ import annotations

import importlib

_WHERE = {
    "render_evaluation_report": "evaluation",
    "write_evaluation_report": "evaluation",
    "cohort_montage": "montage",
    "cohort_summary_html": "analysis",
    "plot_overlap_map": "analysis",
    "subject_montage": "analysis",
    "plot_montage": "montage",
    "plot_preprocess_qc": "preprocess_qc",
    "overlap_report": "overlap",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"lesionkit.report.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'lesionkit.report' has no attribute {name!r}")
