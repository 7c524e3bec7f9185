"""Self-contained HTML pages: inline CSS, figures as base64 PNG, tables from pandas."""

from __future__ import annotations

import base64
import html
import io

import pandas as pd

__all__ = ["escape", "figure_to_data_uri", "page", "table"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222;
line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}th,td{padding:.25rem .6rem;border-bottom:1px solid #eee;
text-align:right}th{background:#f5f5f5}td:first-child,th:first-child{text-align:left}
img{max-width:100%;height:auto}.note{color:#666;font-size:.85rem}.warn{color:#a40}
.cards{display:flex;gap:1rem;flex-wrap:wrap}
.card{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;min-width:9rem}
.card b{display:block;font-size:1.3rem}details{margin:.5rem 0}code{background:#f3f3f3;padding:0 .2rem}
"""


def escape(text: object) -> str:
    return html.escape(str(text))


def figure_to_data_uri(figure, dpi: int = 110) -> str:
    """PNG of a matplotlib figure as a ``data:`` URI."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def table(frame: pd.DataFrame, float_format: str = "{:.3g}", index: bool = False) -> str:
    """A pandas table as HTML, numbers rounded for reading (``inf`` stays ``inf``)."""

    def fmt(value: object) -> str:
        if isinstance(value, float):
            if value != value:
                return "–"
            return f"{value:,.0f}" if abs(value) >= 1000 and value != float("inf") else float_format.format(value)
        return escape(value)

    return frame.to_html(index=index, escape=False, formatters={c: fmt for c in frame.columns}, border=0, na_rep="–")


def page(title: str, body: str) -> str:
    """A complete HTML document with the shared style."""
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_CSS}</style></head><body>\n{body}\n</body></html>\n"
    )
