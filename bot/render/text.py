"""Chat text: numbered choices for platforms without buttons, status labels, task lists, the cycle
summary and the list of who has not reported — each cut into pages that fit one message.

Everything here is called inside the reader's language (bot.i18n.use_language) and returns plain
text; transports escape it for their markup.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.core.messages import Reply
from bot.i18n import N_, _, format_day, format_number, format_short_day, ngettext
from storage.collation import vi_sort_key
from storage.group_progress import GroupProgress
from storage.models.people import BLOCKED, DONE, IN_PROGRESS, NOT_STARTED
from storage.progress_rules import (
    LATE,
    NO_DEADLINE,
    NOT_DUE,
    NOT_REPORTED,
    ON_TIME,
    OVERDUE,
    REPORTED,
    TIMINGS,
)
from storage.summary import AgencySummary, Summary, TaskSummary

# What a focal point reported.
REPORTED_LABELS = {
    NOT_REPORTED: N_("not reported"),
    NOT_STARTED: N_("not started"),
    IN_PROGRESS: N_("in progress"),
    DONE: N_("done"),
    BLOCKED: N_("blocked"),
}
REPORTED_MARKS = {NOT_REPORTED: "·", NOT_STARTED: "○", IN_PROGRESS: "▶", DONE: "✓", BLOCKED: "⚠"}

# The task's timing against its end date.
TIMING_LABELS = {
    ON_TIME: N_("on time"),
    LATE: N_("late"),
    OVERDUE: N_("overdue"),
    NOT_DUE: N_("not due yet"),
    NO_DEADLINE: N_("no deadline"),
}
TIMING_MARKS = {OVERDUE: "⏰"}

ELLIPSIS = "…"


def with_numbered_choices(reply: Reply) -> str:
    """The reply's text followed by its buttons as "1. label" lines, for platforms without buttons.

    Numbers run across all rows in reading order; the core maps a bare number typed next back to
    the same button.
    """
    labels = [button.label for row in reply.buttons for button in row]
    if not labels:
        return reply.text
    choices = "\n".join(f"{number}. {label}" for number, label in enumerate(labels, start=1))
    return f"{reply.text}\n\n{choices}" if reply.text else choices


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit - 1)
    return text[: cut if cut > limit // 2 else limit - 1].rstrip(" ,;:.") + ELLIPSIS


def reported_label(status: str) -> str:
    return _(REPORTED_LABELS[status])


def timing_label(timing: str) -> str:
    return _(TIMING_LABELS[timing])


def standing_text(reported: str, percent: int | None, timing: str) -> str:
    """'đang thực hiện 60% · chưa đến hạn': what was reported, then the timing, never merged."""
    said = reported_label(reported)
    if percent is not None and reported not in (DONE, NOT_REPORTED):
        said += f" {percent_text(percent)}"
    return f"{said} · {timing_label(timing)}"


def percent_text(percent: int | None) -> str:
    return "" if percent is None else f"{format_number(percent)}%"


# ---------------------------------------------------------------- pages


@dataclass(frozen=True)
class Page:
    text: str
    number: int  # from 1
    count: int


def paginate(header: str, blocks: Sequence[str], limit: int) -> list[Page]:
    """Cut `blocks` (each kept whole where it fits) into pages of at most `limit` characters, each
    starting with `header`. Room is left for the "page i/n" line the caller may add."""
    room = max(limit - len(header) - 40, 200)
    pages: list[list[str]] = [[]]
    size = 0
    for block in blocks:
        block = block if len(block) <= room else shorten(block, room)
        if pages[-1] and size + len(block) + 1 > room:
            pages.append([])
            size = 0
        pages[-1].append(block)
        size += len(block) + 1
    count = len(pages)
    result = []
    for number, page_blocks in enumerate(pages, start=1):
        body = "\n".join(page_blocks)
        text = f"{header}\n{body}" if body else header
        if count > 1:
            text += "\n\n" + _("Page {page} of {pages}").format(page=number, pages=count)
        result.append(Page(text=text, number=number, count=count))
    return result


# ---------------------------------------------------------------- an agency's tasks


@dataclass(frozen=True)
class TaskLine:
    number: int
    code: str
    content: str
    timeframe: str
    reported: str  # as the agency stands on it (storage.progress_rules)
    timing: str
    percent: int | None = None
    note: str = ""
    who: str | None = None
    when: dt.datetime | None = None
    evidence: tuple[str, ...] = ()

    @property
    def done(self) -> bool:
        return self.reported == DONE


def task_block(line: TaskLine, tz: dt.tzinfo) -> str:
    head = f"{line.number}. [{line.code}] {shorten(line.content, 110)}"
    if line.timeframe:
        head += f" ({line.timeframe})"
    mark = TIMING_MARKS.get(line.timing) or REPORTED_MARKS[line.reported]
    state = f"   {mark} {standing_text(line.reported, line.percent, line.timing)}"
    if line.when is not None:
        when = format_short_day(line.when.astimezone(tz).date())
        last = (
            _("last update {day} by {name}").format(day=when, name=line.who)
            if line.who
            else _("last update {day}").format(day=when)
        )
        state += f" · {last}"
        if line.note:
            state += f"\n   “{shorten(line.note, 140)}”"
    if line.evidence:
        state += "\n   📎 " + ", ".join(line.evidence)
    return f"{head}\n{state}"


def task_list_pages(
    agency_name: str, lines: Sequence[TaskLine], *, cycle: dt.date, limit: int, tz: dt.tzinfo
) -> list[Page]:
    header = _("Tasks of {agency} — report due {day}").format(agency=agency_name, day=format_day(cycle))
    if not lines:
        return paginate(header, [_("The plan assigns no task to this agency.")], limit)
    done = sum(line.done for line in lines)
    average = sum(line.percent or 0 for line in lines) / len(lines)
    header += "\n" + _("{done}/{count} done · average progress {percent}").format(
        done=format_number(done), count=format_number(len(lines)), percent=percent_text(round(average))
    )
    blocks = [task_block(line, tz) for line in lines]
    blocks.append("\n" + _("To report: /capnhat, or in one line: /capnhat 2 hoàn thành <what was done>"))
    return paginate(header, blocks, limit)


# ---------------------------------------------------------------- the cycle summary


def counts_text(counts, order: Iterable[str], labels: dict) -> str:
    """'hoàn thành 3, đang thực hiện 2': the non-zero counts in a fixed order."""
    parts = [f"{_(labels[key])} {format_number(counts[key])}" for key in order if counts[key]]
    return ", ".join(parts) if parts else "—"


def reported_counts_text(counts) -> str:
    return counts_text(counts, REPORTED, REPORTED_LABELS)


def timing_counts_text(counts) -> str:
    return counts_text(counts, TIMINGS, TIMING_LABELS)


def evidence_names(items: Iterable[str]) -> list[str]:
    """Evidence as a reader can use it: links as they are, stored files by their name."""
    return [item for item in items if item]


def _task_attention_line(task: TaskSummary, summary: Summary, tz: dt.tzinfo) -> str:
    owner = ", ".join(summary.agency(a).label for a in task.leads if summary.agency(a)) or "—"
    line = f"• [{task.code}] {owner}: {shorten(task.content, 80)}"
    line += "\n   " + standing_text(task.reported, task.percent, task.timing)
    if task.latest is not None:
        info = task.latest
        when = format_short_day(info.created_at.astimezone(tz).date())
        by = info.member_name or "—"
        if info.note:
            line += f"\n   “{shorten(info.note, 140)}” ({by}, {when})"
        else:
            line += f" ({by}, {when})"
    elif task.end_on is not None:
        line += " · " + _("due {day}").format(day=format_short_day(task.end_on))
    return line


def _more_in_the_files(count: int) -> str:
    return "   " + ngettext(
        "… and {count} more: it is in the report files (the buttons below).",
        "… and {count} more: every one is in the report files (the buttons below).",
        count,
    ).format(count=format_number(count))


def _agency_line(agency: AgencySummary, tz: dt.tzinfo) -> str:
    progress = ngettext("{done}/{count} task done", "{done}/{count} tasks done", agency.total).format(
        done=format_number(agency.done), count=format_number(agency.total)
    )
    progress += " · " + _("average {percent}").format(percent=percent_text(round(agency.average_progress)))
    if agency.timing_counts[OVERDUE]:
        progress += " · " + _("{count} overdue").format(count=format_number(agency.timing_counts[OVERDUE]))
    if agency.reported:
        when = format_short_day(agency.last_update_at.astimezone(tz).date()) if agency.last_update_at else ""
        return f"✓ {agency.label} — {progress} · " + _("reported {day}").format(day=when)
    if agency.focal_points == 0:
        return f"✗ {agency.label} — {progress} · " + _("not reported, no focal point registered")
    return f"✗ {agency.label} — {progress} · " + _("not reported")


def group_lines(groups: Iterable[GroupProgress]) -> list[str]:
    """Each group whose members report for themselves: "n of N units reported" and who has not."""
    lines = []
    for group in groups:
        mark = "✓" if group.reported == group.total else "✗"
        line = f"{mark} " + _("{group}: {reported} of {total} units reported").format(
            group=group.name, reported=format_number(group.reported), total=format_number(group.total)
        )
        if group.missing:
            line += "\n   " + _("not yet: {names}").format(
                names=", ".join(unit.name for unit in group.missing)
            )
        lines.append(line)
    return lines


def summary_pages(summary: Summary, *, limit: int, tz: dt.tzinfo) -> list[Page]:
    deadline = summary.cycle or summary.end
    header = "\n".join(
        [
            _("Summary of plan {number} — reporting cycle ending {day}").format(
                number=summary.plan.number, day=format_day(deadline)
            ),
            _("Agencies reported: {reported}/{expected}").format(
                reported=format_number(len(summary.reported_agencies)),
                expected=format_number(len(summary.expected_agencies)),
            ),
            _("Tasks: {count} · average progress {percent}").format(
                count=format_number(summary.total), percent=percent_text(round(summary.average_progress))
            ),
            _("Reported: {counts}").format(counts=reported_counts_text(summary.reported_counts)),
            _("Timing: {counts}").format(counts=timing_counts_text(summary.timing_counts)),
        ]
    )
    blocks: list[str] = []
    # The counts are of every task; the lines, of those the summary details (see attention_first).
    for mark, heading, count, tasks in (
        ("⚠", _("Blocked ({count}):"), summary.blocked_count, summary.blockers),
        ("⏰", _("Overdue ({count}):"), summary.overdue_count, summary.overdue),
    ):
        if not count:
            continue
        blocks.append(f"\n{mark} " + heading.format(count=format_number(count)))
        blocks.extend(_task_attention_line(task, summary, tz) for task in tasks)
        if count > len(tasks):
            blocks.append(_more_in_the_files(count - len(tasks)))
    expected = summary.expected_agencies
    if expected:
        blocks.append("\n" + _("By agency:"))
        # Those who have not reported first: they are what the coordinator acts on; then in the
        # Vietnamese alphabetical order.
        ordered = sorted(expected, key=lambda a: (a.reported, a.completion, vi_sort_key(a.label)))
        blocks.extend(_agency_line(agency, tz) for agency in ordered)
    if summary.groups:
        blocks.append("\n" + _("By group, each unit for itself:"))
        blocks.extend(group_lines(summary.groups))
    if summary.unreachable:
        names = ", ".join(m.name for m in summary.unreachable)
        blocks.append("\n" + _("Cannot be reached: {names}").format(names=names))
    return paginate(header, blocks, limit)


def missing_pages(
    summary: Summary, *, limit: int, tz: dt.tzinfo, focal_names: dict[int, list[str]]
) -> list[Page]:
    deadline = summary.cycle or summary.end
    missing = summary.missing_agencies
    expected = summary.expected_agencies
    header = _("Not reported for the cycle ending {day}: {missing} of {expected} agencies").format(
        day=format_day(deadline), missing=format_number(len(missing)), expected=format_number(len(expected))
    )
    blocks: list[str] = []
    groups = {group.id: group for group in summary.groups}
    for agency in sorted(missing, key=lambda a: vi_sort_key(a.label)):
        if agency.id in groups:
            # A group has not reported while any of its units has not: name those units.
            blocks.extend(group_lines([groups[agency.id]]))
            continue
        names = focal_names.get(agency.id)
        who = ", ".join(names) if names else _("no focal point registered")
        blocks.append(f"✗ {agency.label} ({who})")
    partial = sorted(
        (a for a in expected if a.reported and a.tasks_without_update), key=lambda a: vi_sort_key(a.label)
    )
    if partial:
        blocks.append("\n" + _("Reported, but some tasks have no update this cycle:"))
        for agency in partial:
            codes = ", ".join(task.code for task in agency.tasks_without_update)
            blocks.append(f"• {agency.label}: {codes}")
    if not missing and not partial:
        blocks.append(_("Every agency has reported on every task this cycle."))
    return paginate(header, blocks, limit)
