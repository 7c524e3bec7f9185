"""Figures and HTML reports."""

from lesionkit.report.evaluation import render_evaluation_report, write_evaluation_report

__all__ = ["render_evaluation_report", "write_evaluation_report"]
