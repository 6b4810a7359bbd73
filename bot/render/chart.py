"""Completion by agency as a PNG: a horizontal bar per agency, split by what was reported, with the
number of overdue tasks and the average progress beside each bar.

Drawn with matplotlib's Agg backend (no display needed) in DejaVu Sans, which ships with
matplotlib and has every Vietnamese letter.
"""

from __future__ import annotations

import io

import matplotlib

from storage.collation import vi_sort_key

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from bot.i18n import _, format_number  # noqa: E402
from bot.render.report_rows import reported_cell  # noqa: E402
from bot.render.text import percent_text  # noqa: E402
from storage.progress_rules import OVERDUE  # noqa: E402
from storage.summary import Summary  # noqa: E402
from storage.text import readable  # noqa: E402

FONT = "DejaVu Sans"
COLOURS = {
    "done": "#2e7d32",
    "in_progress": "#1976d2",
    "not_started": "#90a4ae",
    "not_reported": "#e0e0e0",
    "blocked": "#c62828",
}
# Left to right: done first, so the bars read as progress.
ORDER = ("done", "in_progress", "not_started", "not_reported", "blocked")
MAX_AGENCIES = 40  # beyond this the chart shows the least complete ones and says so


def completion_chart(summary: Summary, *, width_inches: float = 9.0) -> bytes:
    """PNG bytes. Agencies least complete at the top: they are the ones to call."""
    agencies = sorted(summary.expected_agencies, key=lambda a: (a.completion, vi_sort_key(a.name)))
    hidden = max(len(agencies) - MAX_AGENCIES, 0)
    agencies = agencies[:MAX_AGENCIES]
    labels = [_as_typed(_shorten(a.label, 34)) for a in agencies]
    height = 1.4 + 0.32 * max(len(agencies), 1)
    figure = Figure(figsize=(width_inches, height), dpi=150)
    axes = figure.add_subplot()
    lefts = [0.0] * len(agencies)
    for status in ORDER:
        shares = [a.reported_counts[status] / a.total * 100 if a.total else 0 for a in agencies]
        axes.barh(labels, shares, left=lefts, color=COLOURS[status], label=reported_cell(status), height=0.7)
        lefts = [left + share for left, share in zip(lefts, shares, strict=True)]
    for y, agency in enumerate(agencies):
        note = f"{agency.done}/{agency.total} · {percent_text(round(agency.average_progress))}"
        if agency.timing_counts[OVERDUE]:
            note += " · " + _("{count} overdue").format(count=format_number(agency.timing_counts[OVERDUE]))
        axes.text(
            101,
            y,
            note,
            va="center",
            fontsize=7,
            fontfamily=FONT,
        )
    axes.invert_yaxis()
    axes.set_xlim(0, 135)
    axes.set_xticks([0, 25, 50, 75, 100])
    axes.set_xlabel(_("Share of tasks (%)"), fontfamily=FONT, fontsize=8)
    title = _("Completion by agency — plan {number}").format(number=_as_typed(summary.plan.number))
    if hidden:
        title += "\n" + _("(the {shown} least complete of {total} agencies)").format(
            shown=len(agencies), total=len(agencies) + hidden
        )
    axes.set_title(title, fontfamily=FONT, fontsize=10)
    for tick in (*axes.get_yticklabels(), *axes.get_xticklabels()):
        tick.set_fontfamily(FONT)
        tick.set_fontsize(7)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    legend = axes.legend(
        loc="upper center", bbox_to_anchor=(0.5, -0.9 / height), ncols=3, fontsize=7, frameon=False
    )
    for text in legend.get_texts():
        text.set_fontfamily(FONT)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _as_typed(text: str) -> str:
    """Matplotlib reads text between two "$" as a formula (an unknown command in it fails the whole
    chart): an escaped "$" is drawn as itself. Control characters have no glyph (a box would be
    drawn): they are left out, as in the documents."""
    return readable(text).replace("$", r"\$")


def _shorten(text: str, limit: int) -> str:
    """Cut at a word boundary, marked with "…" (the chart is the one place a name may be cut)."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit - 1)
    return text[: cut if cut > limit // 2 else limit - 1].rstrip(" ,;:.") + "…"
