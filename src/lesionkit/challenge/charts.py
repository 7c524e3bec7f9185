"""Small server-rendered SVG charts for the submission page (no JavaScript): a scatter plot and box plots."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

import numpy as np

__all__ = ["box_svg", "scatter_svg"]

W, H, PAD = 460, 260, 44


def _frame(title: str, xlabel: str, ylabel: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" '
        f'aria-label="{escape(title)}">',
        f'<text x="{W / 2}" y="16" text-anchor="middle" font-size="13" font-weight="600">{escape(title)}</text>',
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - 10}" y2="{H - PAD}" stroke="#888"/>',
        f'<line x1="{PAD}" y1="26" x2="{PAD}" y2="{H - PAD}" stroke="#888"/>',
        f'<text x="{W / 2}" y="{H - 8}" text-anchor="middle" font-size="11">{escape(xlabel)}</text>',
        f'<text x="12" y="{H / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 12 {H / 2})">'
        f'{escape(ylabel)}</text>',
    ]


def scatter_svg(x: Sequence[float], y: Sequence[float], title: str, xlabel: str, ylabel: str,
                log_x: bool = True) -> str:
    """Points (x, y) with y in [0, 1]; x on a log axis (lesion volume), ticks at powers of ten."""
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    keep = np.isfinite(xs) & np.isfinite(ys) & ((xs > 0) if log_x else True)
    xs, ys = xs[keep], ys[keep]
    out = _frame(title, xlabel, ylabel)
    if xs.size:
        tx = np.log10(xs) if log_x else xs
        lo, hi = math.floor(tx.min()), math.ceil(tx.max())
        hi = hi if hi > lo else lo + 1
        for tick in range(lo, hi + 1):
            px = PAD + (tick - lo) / (hi - lo) * (W - PAD - 20)
            out.append(f'<text x="{px:.1f}" y="{H - PAD + 14}" font-size="10" text-anchor="middle">'
                       f'{f"1e{tick}" if log_x else tick}</text>')
        for value, py in ((0, H - PAD), (0.5, (H - PAD + 26) / 2), (1, 26)):
            out.append(f'<text x="{PAD - 6}" y="{py + 3:.1f}" font-size="10" text-anchor="end">{value}</text>')
        for vx, vy in zip(tx, ys, strict=True):
            px = PAD + (vx - lo) / (hi - lo) * (W - PAD - 20)
            py = H - PAD - vy * (H - PAD - 26)
            out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="#1f5fa8" fill-opacity="0.7"/>')
    out.append("</svg>")
    return "".join(out)


def box_svg(series: dict[str, Sequence[float]], title: str) -> str:
    """One horizontal box plot (quartiles, whiskers at min/max) per named series of values in [0, 1]."""
    out = _frame(title, "value (0–1)", "")
    names = list(series)
    row = (H - PAD - 36) / max(1, len(names))
    for i, name in enumerate(names):
        values = np.asarray(series[name], dtype=float)
        values = values[np.isfinite(values)]
        cy = 34 + row * (i + 0.5)
        out.append(f'<text x="{PAD + 4}" y="{cy - row / 2 + 12:.1f}" font-size="11">{escape(name)}</text>')
        if not values.size:
            continue
        q0, q1, q2, q3, q4 = np.quantile(values, [0, 0.25, 0.5, 0.75, 1])
        sx = lambda v: PAD + v * (W - PAD - 20)  # noqa: E731
        out.append(f'<line x1="{sx(q0):.1f}" y1="{cy + 4:.1f}" x2="{sx(q4):.1f}" y2="{cy + 4:.1f}" stroke="#555"/>')
        out.append(f'<rect x="{sx(q1):.1f}" y="{cy - 6:.1f}" width="{max(1.0, sx(q3) - sx(q1)):.1f}" height="20" '
                   'fill="#cfe0f3" stroke="#1f5fa8"/>')
        out.append(f'<line x1="{sx(q2):.1f}" y1="{cy - 6:.1f}" x2="{sx(q2):.1f}" y2="{cy + 14:.1f}" stroke="#15324f" '
                   'stroke-width="2"/>')
    for value in (0, 0.5, 1):
        out.append(f'<text x="{PAD + value * (W - PAD - 20):.1f}" y="{H - PAD + 14}" font-size="10" '
                   f'text-anchor="middle">{value}</text>')
    out.append("</svg>")
    return "".join(out)
