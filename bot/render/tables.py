"""The summary as plain tables: CSV for spreadsheets and scripts, Markdown for people and wikis."""

from __future__ import annotations

import csv
import datetime as dt
import io

from bot.i18n import _, format_number, format_short_day
from bot.render.inert import csv_cell, markdown_text
from bot.render.report_rows import (
    Progress,
    agency_headers,
    agency_values,
    period_text,
    task_headers,
    task_rows,
    task_values,
)
from bot.render.text import percent_text, reported_counts_text, timing_counts_text
from storage.summary import Summary

CSV_MIME_TYPE = "text/csv"
MARKDOWN_MIME_TYPE = "text/markdown"


def render_csv(summary: Summary, *, tz: dt.tzinfo, progress: Progress | None = None) -> bytes:
    """One row per task. UTF-8 with a byte-order mark, so that Excel shows Vietnamese letters."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(header) for header in task_headers()])
    rows = task_rows(summary, tz=tz)
    for number, row in enumerate(rows, start=1):
        writer.writerow([csv_cell(value) for value in task_values(row)])
        if progress is not None and (number % 1000 == 0 or number == len(rows)):
            progress(number, len(rows))
    return buffer.getvalue().encode("utf-8-sig")


def _cell(value) -> str:
    # A line break would end the row; <br> is the one piece of HTML written on purpose.
    lines = str(value).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "<br>".join(markdown_text(line) for line in lines)


def _table(headers: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def render_markdown(summary: Summary, *, tz: dt.tzinfo) -> str:
    plan = summary.plan
    lines = [
        "# " + _("Results of carrying out Plan No. {number}").format(number=markdown_text(plan.number)),
        "",
        _("Reporting period: {period}").format(period=period_text(summary)),
        "",
        "- "
        + _("Agencies reported: {reported}/{expected}").format(
            reported=format_number(len(summary.reported_agencies)),
            expected=format_number(len(summary.expected_agencies)),
        ),
        "- "
        + _("Tasks: {count} · average progress {percent}").format(
            count=format_number(summary.total), percent=percent_text(round(summary.average_progress))
        ),
        "- " + _("Reported: {counts}").format(counts=reported_counts_text(summary.reported_counts)),
        "- " + _("Timing: {counts}").format(counts=timing_counts_text(summary.timing_counts)),
        "- " + _("As of {day}").format(day=format_short_day(summary.as_of)),
    ]
    if summary.missing_agencies:
        names = ", ".join(markdown_text(agency.name) for agency in summary.missing_agencies)
        lines.append("- " + _("Not yet reported: {names}.").format(names=names))
    lines += ["", "## " + _("By agency"), ""]
    lines += _table(agency_headers(), [agency_values(agency) for agency in summary.expected_agencies])
    lines += ["", "## " + _("Tasks"), ""]
    lines += _table(task_headers(), [task_values(row) for row in task_rows(summary, tz=tz)])
    return "\n".join(lines) + "\n"
