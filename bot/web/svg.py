"""The completion chart as inline SVG: one bar per agency, drawn by the server (no script, no
external asset), readable when printed."""

from __future__ import annotations

import heapq

from markupsafe import Markup, escape

from bot.i18n import _

BAR_HEIGHT = 18
GAP = 6
LABEL_WIDTH = 260
BAR_WIDTH = 360


def completion_chart(agencies) -> Markup:
    """Share of led tasks done, per agency, most behind first."""
    # The 60 most behind, without sorting a province's thousands of agencies.
    rows = heapq.nsmallest(60, agencies, key=lambda agency: (agency.completion, agency.label))
    if not rows:
        return Markup("")
    height = len(rows) * (BAR_HEIGHT + GAP) + GAP
    width = LABEL_WIDTH + BAR_WIDTH + 60
    title = escape(_("Share of tasks done, per lead agency"))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{title}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}"><title>{title}</title>'
    ]
    for index, agency in enumerate(rows):
        y = GAP + index * (BAR_HEIGHT + GAP)
        done = round(agency.completion * BAR_WIDTH)
        label = escape(agency.label if len(agency.label) <= 40 else agency.label[:39] + "…")
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 13}" text-anchor="end" class="label">{label}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{BAR_WIDTH}" height="{BAR_HEIGHT}" class="track"/>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{done}" height="{BAR_HEIGHT}" class="done"/>'
            f'<text x="{LABEL_WIDTH + BAR_WIDTH + 6}" y="{y + 13}" class="value">'
            f"{round(agency.completion * 100)}%</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
