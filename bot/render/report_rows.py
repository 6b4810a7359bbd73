"""The summary flattened into rows and labels, shared by the spreadsheet, CSV, Markdown and JSON
exports and the DOCX report. Everything here is called inside the reader's language
(bot.i18n.use_language): headings and status labels come out translated."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from bot.i18n import N_, _, format_short_day
from bot.render.text import percent_text, reported_label, timing_label
from storage.progress_rules import REPORTED, TIMINGS
from storage.summary import AgencySummary, Summary, TaskSummary

# Called as progress(done, total) while a long export is being written.
Progress = Callable[[int, int], None]

TASK_COLUMNS = (
    ("section", N_("Section")),
    ("agency", N_("Agency")),
    ("code", N_("No.")),
    ("content", N_("Content")),
    ("timeframe", N_("Timeframe")),
    ("lead", N_("Lead")),
    ("coordinating", N_("Coordinating")),
    ("reported", N_("Reported status")),
    ("percent", N_("Progress (%)")),
    ("timing", N_("Timing")),
    ("note", N_("Note")),
    ("updated_by", N_("Updated by")),
    ("updated_at", N_("Updated at")),
    ("evidence", N_("Evidence")),
)


def capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def reported_cell(status: str) -> str:
    """ "Đang thực hiện": a reported status as a cell or sentence starts it."""
    return capitalized(reported_label(status))


def timing_cell(timing: str) -> str:
    return capitalized(timing_label(timing))


def task_timing_text(task: TaskSummary) -> str:
    """The task's timing, and for a task a revision dropped, that it was removed from the plan."""
    removed = removed_text(task)
    return timing_cell(task.timing) + (f" · {removed}" if removed else "")


def removed_text(task: TaskSummary) -> str:
    """ "đã bỏ khỏi kế hoạch (12/5/2026)" for a task a revision dropped, else ""."""
    if task.removed_on is None:
        return ""
    return _("removed from the plan ({day})").format(day=format_short_day(task.removed_on))


def task_number_text(task: TaskSummary) -> str:
    # An archived task's number is parked out of the way; its code keeps the number it had.
    return str(task.number) if task.number > 0 else task.code.rpartition(".")[2]


def local_time(moment: dt.datetime | None, tz: dt.tzinfo) -> str:
    """'02/06/2020 10:00' in local time: what a spreadsheet reader expects in a cell."""
    if moment is None:
        return ""
    local = moment.astimezone(tz)
    return f"{local:%d/%m/%Y %H:%M}"


def local_day(moment: dt.datetime | None, tz: dt.tzinfo) -> str:
    return format_short_day(moment.astimezone(tz).date()) if moment is not None else ""


def section_title(summary: Summary, section_id: int) -> str:
    section = next(s for s in summary.sections if s.id == section_id)
    owner = summary.agency(section.agency_id) if section.agency_id is not None else None
    return owner.name if owner else capitalized(section.heading.lower())


def agency_names(summary: Summary, ids: list[int]) -> str:
    return ", ".join(summary.agency(key).name for key in ids if summary.agency(key))


def lead_text(summary: Summary, task: TaskSummary) -> str:
    """The lead cell as the plan wrote it, or the agencies it resolved to when the cell was empty."""
    return task.lead_text or agency_names(summary, task.lead_ids) or section_title(summary, task.section_id)


def co_lead_text(summary: Summary, task: TaskSummary) -> str:
    """For a co-led task not yet done: which leads said it was ('Sở TTTT: hoàn thành; Sở NV: …')."""
    if len(task.leads) < 2 or task.done:
        return ""
    said = {update.agency_id: update for update in task.updates}
    parts = []
    for key in task.leads:
        update = said.get(key)
        label = reported_label(update.status) if update else reported_label("not_reported")
        if update is not None and update.percent is not None and update.status != "done":
            label += f" {percent_text(update.percent)}"
        parts.append(f"{summary.agency_label(key)}: {label}")
    return "; ".join(parts)


def updated_by_text(summary: Summary, task: TaskSummary) -> str:
    """Who wrote the latest update, and for which agency when that is not the row's lead."""
    if task.latest is None:
        return ""
    name = task.latest.member_name or ""
    if task.latest.agency_id not in task.leads:
        agency = summary.agency_label(task.latest.agency_id)
        return f"{name} ({agency})" if name and agency else name or agency
    return name


@dataclass(frozen=True)
class TaskRow:
    section: str
    agency: str
    code: str
    content: str
    timeframe: str
    lead: str
    coordinating: str
    reported: str
    percent: int | str  # a number where one was reported (a spreadsheet averages it), else ""
    timing: str
    note: str
    updated_by: str
    updated_at: str
    evidence: str  # one item a line: stored files by name, links as they are
    reported_code: str  # untranslated, for colours and programs
    timing_code: str


def task_rows(summary: Summary, *, tz: dt.tzinfo) -> list[TaskRow]:
    """One row per detailed task, in plan order."""
    titles = {section.id: section_title(summary, section.id) for section in summary.sections}
    numerals = {section.id: section.numeral for section in summary.sections}
    rows = []
    for task in summary.tasks:
        latest = task.latest
        rows.append(
            TaskRow(
                section=f"{numerals[task.section_id]}. {titles[task.section_id]}",
                agency=titles[task.section_id],
                code=task.code,
                content=task.content,
                timeframe=task.timeframe_text,
                lead=lead_text(summary, task),
                coordinating=task.coordinating_text or agency_names(summary, task.coordinating_ids),
                reported=reported_cell(task.reported),
                percent=task.percent if task.percent is not None else "",
                timing=task_timing_text(task),
                note="\n".join(
                    part for part in (latest.note if latest else "", co_lead_text(summary, task)) if part
                ),
                updated_by=updated_by_text(summary, task),
                updated_at=local_time(latest.created_at if latest else None, tz),
                evidence="\n".join(task.evidence),
                reported_code=task.reported,
                timing_code=task.timing,
            )
        )
    return rows


def task_headers() -> list[str]:
    return [_(label) for _key, label in TASK_COLUMNS]


def task_values(row: TaskRow) -> list[str]:
    return [getattr(row, key) for key, _label in TASK_COLUMNS]


def agency_headers() -> list[str]:
    return [
        _("Agency"),
        _("Number of tasks"),
        *(reported_cell(status) for status in REPORTED),
        *(timing_cell(timing) for timing in TIMINGS),
        _("Done (%)"),
        _("Average progress (%)"),
        _("Reported this period"),
        _("Tasks not updated this period"),
        _("Focal points"),
    ]


def agency_values(agency: AgencySummary) -> list:
    """Counts as numbers (a spreadsheet sums them); the share done as a percentage rounded to one place."""
    return [
        agency.name,
        agency.total,
        *(agency.reported_counts[status] for status in REPORTED),
        *(agency.timing_counts[timing] for timing in TIMINGS),
        round(agency.completion * 100, 1),
        round(agency.average_progress, 1),
        _("yes") if agency.reported else _("no"),
        agency.without_update,
        agency.focal_points,
    ]


def period_text(summary: Summary) -> str:
    """'từ 1/1/2020 đến 20/6/2020' — the period the summary covers."""
    return _("from {start} to {end}").format(
        start=format_short_day(summary.start), end=format_short_day(summary.end)
    )


def export_stem(summary: Summary) -> str:
    """A file name without extension: 'bao-cao-87-KH-UBND-2020-06-20'."""
    number = "".join(ch if ch.isalnum() else "-" for ch in summary.plan.number).strip("-")
    return f"bao-cao-{number}-{summary.end.isoformat()}"
