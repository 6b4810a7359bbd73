"""The summary as a workbook: one row per task, then a sheet of counts per agency.

The task sheet is meant to be filtered and sorted by the people compiling the report: the header
row is frozen, filters are on, long text wraps in columns of a readable width.
"""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from bot.i18n import _
from bot.render.inert import xlsx_row, xml_text
from bot.render.report_rows import (
    TASK_COLUMNS,
    Progress,
    agency_headers,
    agency_values,
    period_text,
    task_headers,
    task_rows,
    task_values,
)
from storage.models.people import BLOCKED
from storage.progress_rules import OVERDUE
from storage.summary import Summary

MIME_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Characters per column; text beyond wraps. Keyed like TASK_COLUMNS.
TASK_WIDTHS = {
    "section": 24,
    "agency": 24,
    "code": 7,
    "content": 60,
    "timeframe": 14,
    "lead": 24,
    "coordinating": 28,
    "reported": 18,
    "percent": 10,
    "timing": 16,
    "note": 50,
    "updated_by": 20,
    "updated_at": 16,
    "evidence": 30,
}
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
WRAP = Alignment(wrap_text=True, vertical="top")
# Rows a coordinator must act on stand out when the sheet is scrolled.
BLOCKED_FILL = PatternFill("solid", fgColor="F8D7DA")
OVERDUE_FILL = PatternFill("solid", fgColor="FFF3CD")


def render_xlsx(summary: Summary, *, tz: dt.tzinfo, progress: Progress | None = None) -> bytes:
    workbook = Workbook()
    tasks_sheet = workbook.active
    tasks_sheet.title = _("Tasks")[:31]
    _fill_tasks(tasks_sheet, summary, tz, progress)
    _fill_agencies(workbook.create_sheet(_("By agency")[:31]), summary)
    workbook.properties.title = xml_text(
        _("Results of Plan No. {number}, {period}").format(
            number=summary.plan.number, period=period_text(summary)
        )
    )
    workbook.properties.creator = "nhacviec"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _header(sheet: Worksheet, headers: list[str]) -> None:
    xlsx_row(sheet, headers)
    for cell in sheet[1]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    # Row 1 stays in view while scrolling; filters cover every column of the data.
    sheet.freeze_panes = "A2"


def _fill_tasks(sheet: Worksheet, summary: Summary, tz: dt.tzinfo, progress: Progress | None) -> None:
    _header(sheet, task_headers())
    rows = task_rows(summary, tz=tz)
    keys = [key for key, _label in TASK_COLUMNS]
    reported_column, timing_column = keys.index("reported") + 1, keys.index("timing") + 1
    for number, row in enumerate(rows, start=1):
        xlsx_row(sheet, task_values(row))
        for cell in sheet[sheet.max_row]:
            cell.alignment = WRAP
        if row.reported_code == BLOCKED:
            sheet.cell(row=sheet.max_row, column=reported_column).fill = BLOCKED_FILL
        if row.timing_code == OVERDUE:
            sheet.cell(row=sheet.max_row, column=timing_column).fill = OVERDUE_FILL
        if progress is not None and (number % 500 == 0 or number == len(rows)):
            progress(number, len(rows))
    for index, (key, _label) in enumerate(TASK_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = TASK_WIDTHS[key]
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(TASK_COLUMNS))}{max(sheet.max_row, 1)}"


def _fill_agencies(sheet: Worksheet, summary: Summary) -> None:
    headers = agency_headers()
    _header(sheet, headers)
    for agency in summary.expected_agencies:
        xlsx_row(sheet, agency_values(agency))
    sheet.column_dimensions["A"].width = 40
    for index in range(2, len(headers) + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 14
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(sheet.max_row, 1)}"
