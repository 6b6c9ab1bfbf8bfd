"""Charts as server-rendered SVG, drawn with presentation attributes only (fill=, stroke=), so they sit inline
in the page under the CSP (no style elements or attributes, no script) and work offline. Each chart has a
title for screen readers; the numbers behind it are in the table beside it."""
from __future__ import annotations

from markupsafe import Markup, escape

PALETTE = ["#2f6fb3", "#e08a1e", "#3a9a5b", "#8a5cc2", "#c23b3b"]
TARGET = "#c23b3b"


def _nice_max(top: float) -> int:
    """An axis top of four equal whole-number steps of 1, 2 or 5 × 10ⁿ, at or above ``top``."""
    step = 1
    while step * 4 < top:
        for m in (2, 5 / 2, 2):
            step = int(step * m)
            if step * 4 >= top:
                break
    return step * 4


def _fmt(v: float, percent: bool) -> str:
    if v is None:
        return "—"
    return f"{v * 100:.0f}%" if percent else f"{v:g}"


def bar_chart(chart_id: str, title: str, categories: list[str], series: list[tuple[str, list]], *,
              percent: bool = False, targets: list | None = None, target_label: str = "", width: int = 560, height: int = 260) -> Markup:
    """Grouped bars, one group per category, one bar per series; ``targets`` (one per category, or None)
    draws a dashed target line over each group."""
    left, right, top, bottom = 48, 12, 28, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _n, vs in series for v in vs if v is not None] + [t for t in (targets or []) if t is not None]
    vmax = 1.0 if percent else _nice_max(max(values + [1]))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(chart_id)}" class="chart" role="img" '
             f'viewBox="0 0 {width} {height}" width="100%" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>",
             f'<text x="{left}" y="16" font-size="13" fill="#222">{escape(title)}</text>']
    for i in range(5):
        v = vmax * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e3e3e3"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end" fill="#555">'
                     f'{escape(_fmt(v, percent))}</text>')
    n = max(len(categories), 1)
    group_w = plot_w / n
    bar_w = max(min(group_w * 0.8 / max(len(series), 1), 40), 2)
    for ci, cat in enumerate(categories):
        gx = left + ci * group_w + (group_w - bar_w * len(series)) / 2
        for si, (name, vs) in enumerate(series):
            v = vs[ci] if ci < len(vs) else None
            h = 0 if v is None else plot_h * min(v / vmax, 1.0)
            x, y = gx + si * bar_w, top + plot_h - h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[si % len(PALETTE)]}"><title>{escape(cat)} {escape(name)}：'
                         f'{escape(_fmt(v, percent))}</title></rect>')
            if v is not None and len(series) * n <= 24:
                parts.append(f'<text x="{x + (bar_w - 2) / 2:.1f}" y="{y - 3:.1f}" font-size="9" text-anchor="middle" '
                             f'fill="#333">{escape(_fmt(v, percent))}</text>')
        t = (targets or [None] * n)[ci] if targets else None
        if t is not None:
            ty = top + plot_h - plot_h * min(t / vmax, 1.0)
            parts.append(f'<line x1="{left + ci * group_w + 2:.1f}" y1="{ty:.1f}" x2="{left + (ci + 1) * group_w - 2:.1f}" '
                         f'y2="{ty:.1f}" stroke="{TARGET}" stroke-width="2" stroke-dasharray="6 3">'
                         f'<title>{escape(cat)} {escape(target_label)}：{escape(_fmt(t, percent))}</title></line>')
        label = cat if len(cat) <= 8 else cat[:7] + "…"
        parts.append(f'<text x="{left + ci * group_w + group_w / 2:.1f}" y="{top + plot_h + 16}" font-size="11" '
                     f'text-anchor="middle" fill="#333">{escape(label)}</text>')
    parts.append(_legend(series, left, height - 14, bool(targets and any(t is not None for t in targets)), target_label))
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(chart_id: str, title: str, xs: list[str], series: list[tuple[str, list]], *, percent: bool = False,
               targets: list | None = None, target_label: str = "", width: int = 560, height: int = 240) -> Markup:
    """A trend: one line per series over the years, and the targets as a dashed stepped line."""
    left, right, top, bottom = 48, 12, 28, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _n, vs in series for v in vs if v is not None] + [t for t in (targets or []) if t is not None]
    vmax = 1.0 if percent else _nice_max(max(values + [1]))
    n = max(len(xs), 1)

    def px(i):
        return left + (plot_w * (i + 0.5) / n)

    def py(v):
        return top + plot_h - plot_h * min(v / vmax, 1.0)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(chart_id)}" class="chart" role="img" '
             f'viewBox="0 0 {width} {height}" width="100%" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>",
             f'<text x="{left}" y="16" font-size="13" fill="#222">{escape(title)}</text>']
    for i in range(5):
        v = vmax * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e3e3e3"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end" fill="#555">'
                     f'{escape(_fmt(v, percent))}</text>')
    for i, x in enumerate(xs):
        parts.append(f'<text x="{px(i):.1f}" y="{top + plot_h + 16}" font-size="11" text-anchor="middle" '
                     f'fill="#333">{escape(x)}</text>')
    if targets and any(t is not None for t in targets):
        pts = " ".join(f"{px(i):.1f},{py(t):.1f}" for i, t in enumerate(targets) if t is not None)
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{TARGET}" stroke-width="2" stroke-dasharray="6 3"/>')
    for si, (name, vs) in enumerate(series):
        color = PALETTE[si % len(PALETTE)]
        pts = [(px(i), py(v), v) for i, v in enumerate(vs) if v is not None]
        if len(pts) > 1:
            parts.append(f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y, _v in pts)}" fill="none" '
                         f'stroke="{color}" stroke-width="2"/>')
        for x, y, v in pts:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}"><title>{escape(name)}：'
                         f'{escape(_fmt(v, percent))}</title></circle>')
    parts.append(_legend(series, left, height - 8, bool(targets and any(t is not None for t in targets)), target_label))
    parts.append("</svg>")
    return Markup("".join(parts))


def _legend(series, x0: float, y: float, with_target: bool, target_label: str) -> str:
    out, x = [], x0
    for si, (name, _vs) in enumerate(series):
        out.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{PALETTE[si % len(PALETTE)]}"/>'
                   f'<text x="{x + 14:.1f}" y="{y:.1f}" font-size="11" fill="#333">{escape(name)}</text>')
        x += 22 + 12 * len(name)
    if with_target:
        out.append(f'<line x1="{x:.1f}" y1="{y - 4:.1f}" x2="{x + 16:.1f}" y2="{y - 4:.1f}" stroke="{TARGET}" '
                   f'stroke-width="2" stroke-dasharray="6 3"/><text x="{x + 20:.1f}" y="{y:.1f}" font-size="11" '
                   f'fill="#333">{escape(target_label)}</text>')
    return "".join(out)


def histogram(chart_id: str, title: str, edges: list[float], counts: list[int], *, marker: float | None = None,
              marker_label: str = "", unit: str = "", width: int = 560, height: int = 240) -> Markup:
    """Counts per band: ``counts[i]`` between ``edges[i]`` and ``edges[i + 1]``, the bars side by side over a
    value axis; ``marker`` (a value on that axis, e.g. the pass mark) draws a dashed vertical line labelled
    ``marker_label``."""
    left, right, top, bottom = 48, 12, 28, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    lo, hi = edges[0], edges[-1]
    vmax = _nice_max(max(counts + [1]))

    def px(v: float) -> float:
        return left + plot_w * (v - lo) / ((hi - lo) or 1)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(chart_id)}" class="chart" role="img" '
             f'viewBox="0 0 {width} {height}" width="100%" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>",
             f'<text x="{left}" y="16" font-size="13" fill="#222">{escape(title)}</text>']
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e3e3e3"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end" fill="#555">'
                     f'{escape(_fmt(vmax * i / 4, False))}</text>')
    for i, c in enumerate(counts):
        x0, x1 = px(edges[i]), px(edges[i + 1])
        h = plot_h * min(c / vmax, 1.0)
        parts.append(f'<rect x="{x0 + 1:.1f}" y="{top + plot_h - h:.1f}" width="{max(x1 - x0 - 2, 1):.1f}" '
                     f'height="{h:.1f}" fill="{PALETTE[0]}"><title>{escape(_fmt(edges[i], False))}–'
                     f'{escape(_fmt(edges[i + 1], False))}{escape(unit)}：{c}</title></rect>')
        if c:
            parts.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{top + plot_h - h - 3:.1f}" font-size="10" '
                         f'text-anchor="middle" fill="#333">{c}</text>')
    for e in edges:
        parts.append(f'<text x="{px(e):.1f}" y="{top + plot_h + 14}" font-size="10" text-anchor="middle" '
                     f'fill="#333">{escape(_fmt(e, False))}</text>')
    if marker is not None:
        mx = px(min(max(marker, lo), hi))
        parts.append(f'<line x1="{mx:.1f}" y1="{top}" x2="{mx:.1f}" y2="{top + plot_h}" stroke="{TARGET}" '
                     f'stroke-width="2" stroke-dasharray="6 3"/><text x="{mx + 4:.1f}" y="{top + 10}" font-size="11" '
                     f'fill="{TARGET}">{escape(marker_label)} {escape(_fmt(marker, False))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


MET, SHORT, TRACK = "#198754", "#fd7e14", "#eef1f4"


def progress_bars(chart_id: str, title: str, rows: list[tuple[str, float, float, str]], *, width: int = 560) -> Markup:
    """Horizontal progress bars, one per ``(label, done, needed, value text)``: a grey track, the part done
    (green when it reaches what is needed, orange short of it, ``data-value`` = done), a dashed mark at what is
    needed, and the value text at the right."""
    bar_h, gap, left, track_end = 26, 18, 90, 440
    scale_max = max([need for _l, _d, need, _t in rows] + [done for _l, done, _n, _t in rows] + [1]) * 1.05

    def x(v: float) -> float:
        return left + (track_end - left) * (min(v, scale_max) / scale_max)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(chart_id)}" class="chart" role="img" '
             f'viewBox="0 0 {width} {len(rows) * (bar_h + gap) + 30}" width="100%" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]
    for i, (label, done, need, text) in enumerate(rows):
        y = 10 + i * (bar_h + gap)
        parts.append(f'<text x="0" y="{y + bar_h * 0.7:.0f}" font-size="13" fill="#333">{escape(label)}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{track_end - left}" height="{bar_h}" fill="{TRACK}"/>')
        parts.append(f'<rect x="{left}" y="{y}" width="{max(0.0, x(done) - left):.1f}" height="{bar_h}" '
                     f'fill="{MET if done >= need else SHORT}" data-value="{done:g}"/>')
        parts.append(f'<line x1="{x(need):.1f}" x2="{x(need):.1f}" y1="{y - 4}" y2="{y + bar_h + 4}" stroke="{TARGET}" '
                     f'stroke-width="2" stroke-dasharray="4 2"/>')
        parts.append(f'<text x="{width - 2}" y="{y + bar_h * 0.7:.0f}" text-anchor="end" font-size="13" '
                     f'font-weight="600" fill="#212529">{escape(text)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
