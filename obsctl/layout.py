"""A picture of a Grafana dashboard's layout: an SVG of its 24-column grid with every panel's title and kind, drawn
from the built dashboard JSON (what Grafana will show, not what the spec asked for), for reviews and on-call pages.

Collapsed rows keep their panels inside the row; they are drawn where Grafana puts them when the row is opened,
dashed, and the panels below move down by as much.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

COLUMNS = 24
COL = 40  # px per grid column
ROW = 30  # px per grid unit of height (Grafana's own)
PAD = 16
HEADER = 44
CHAR = 7.0  # average width of a 12px sans-serif character, for wrapping titles
KIND_COLOURS = {
    "timeseries": "#dbeafe",
    "stat": "#dcfce7",
    "gauge": "#fef3c7",
    "barchart": "#fce7f3",
    "bargauge": "#fce7f3",
    "table": "#ede9fe",
    "logs": "#e0f2fe",
    "text": "#f3f4f6",
    "row": "#e5e7eb",
}


def _wrap(text: str, width: float) -> list[str]:
    """Words onto lines at most `width` px wide (a longer word gets a line of its own)."""
    per_line = max(1, int(width / CHAR))
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= per_line:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _placed(panels: list[dict]) -> list[tuple[dict, int, bool]]:
    """(panel, y in grid units, inside a collapsed row) for every panel, rows' panels included."""
    out = []
    shift = 0
    for p in panels:
        pos = p.get("gridPos") or {}
        out.append((p, int(pos.get("y", 0)) + shift, False))
        inner = p.get("panels") or []
        if p.get("type") == "row" and p.get("collapsed") and inner:
            top = int(pos.get("y", 0)) + 1
            bottom = top
            for child in inner:
                cpos = child.get("gridPos") or {}
                out.append((child, int(cpos.get("y", 0)) + shift, True))
                bottom = max(bottom, int(cpos.get("y", 0)) + int(cpos.get("h", 1)))
            shift += bottom - top
    return out


def dashboard_svg(dashboard: dict) -> str:
    """The SVG text of one built Grafana dashboard's layout."""
    placed = _placed(dashboard.get("panels") or [])
    height_units = max((y + int((p.get("gridPos") or {}).get("h", 1)) for p, y, _ in placed), default=1)
    width = COLUMNS * COL + 2 * PAD
    height = HEADER + height_units * ROW + PAD
    title = str(dashboard.get("title", ""))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="DejaVu Sans, Helvetica, Arial, sans-serif" role="img" aria-label={quoteattr(title + " layout")}>',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{PAD}" y="{PAD + 16}" font-size="16" font-weight="bold" fill="#111827">{escape(title)}</text>',
        f'<text x="{width - PAD}" y="{PAD + 16}" font-size="11" fill="#6b7280" text-anchor="end">'
        f"{escape(str(dashboard.get('uid', '')))} · {len([p for p, _, _ in placed if p.get('type') != 'row'])} "
        "panels</text>",
    ]
    for p, y, collapsed in placed:
        pos = p.get("gridPos") or {}
        kind = str(p.get("type", "panel"))
        x0 = PAD + int(pos.get("x", 0)) * COL + 2
        y0 = HEADER + y * ROW + 2
        w = int(pos.get("w", COLUMNS)) * COL - 4
        h = int(pos.get("h", 1)) * ROW - 4
        fill = KIND_COLOURS.get(kind, "#f3f4f6")
        dash = ' stroke-dasharray="5 3"' if collapsed else ""
        label = str(p.get("title", ""))
        parts.append(f'<g class="panel" data-kind={quoteattr(kind)} data-title={quoteattr(label)}>')
        parts.append(f"<title>{escape(label)} ({escape(kind)})</title>")
        parts.append(
            f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" rx="4" fill="{fill}" stroke="#9ca3af"{dash}/>'
        )
        if kind == "row":
            state = " (collapsed)" if p.get("collapsed") else ""
            parts.append(
                f'<text x="{x0 + 8}" y="{y0 + h / 2 + 4:.0f}" font-size="12" font-weight="bold" '
                f'fill="#374151">{escape(label)}{escape(state)}</text>'
            )
        else:
            parts.append(
                f'<text x="{x0 + 8}" y="{y0 + 18}" font-size="12" font-weight="bold" fill="#111827">'
            )
            for i, line in enumerate(_wrap(label, w - 16)):
                parts.append(f'<tspan x="{x0 + 8}" dy="{0 if i == 0 else 15}">{escape(line)}</tspan>')
            parts.append("</text>")
            parts.append(
                f'<text x="{x0 + w - 8}" y="{y0 + h - 8}" font-size="10" fill="#6b7280" '
                f'text-anchor="end">{escape(kind)}</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
