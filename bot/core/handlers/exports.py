"""/xuat (/export): the summary of a reporting cycle as a file — the draft official report (DOCX),
the workbook (XLSX) or CSV — in the reader's language; and the export buttons under /tonghop.

    /xuat                 buttons: DOCX, XLSX (current cycle)
    /xuat docx            the draft report of the current cycle
    /xuat xlsx ky truoc   the workbook of the previous cycle
    /xuat docx 20/11      the cycle holding 20/11 of the plan's year
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field

from bot.core.context import Context
from bot.core.handlers.access import no_plan
from bot.core.messages import Button, Document, Reply
from bot.core.parsing import parse_day
from bot.evidence import open_store
from bot.i18n import _, format_day, format_number, format_short_day
from bot.render.exports import UnknownFormat, letterhead_from_config, normalize_format, render_summary
from storage.cycles import cycle_for, plan_start, previous_cycle, reporting_deadlines
from storage.models.plan import Plan
from storage.plans.repository import plan_by_id
from storage.summary import ALL, Summary, build_summary
from storage.text import fold

# What chat offers; Markdown and JSON are for the CLI (`nhacviec report`).
CHAT_FORMATS = ("docx", "xlsx", "csv", "zip")
BUTTON_FORMATS = ("docx", "xlsx")
ACTION = "export"

CURRENT = "current"
PREVIOUS = "previous"
# Folded, Vietnamese and English. "truoc" alone is how people shorten "kỳ trước" on a phone.
PERIOD_WORDS = {
    CURRENT: ("ky nay", "ky hien tai", "hien tai", "nay", "this cycle", "current cycle", "current", "this"),
    PREVIOUS: (
        "ky truoc",
        "dot truoc",
        "lan truoc",
        "truoc",
        "previous cycle",
        "last cycle",
        "previous",
        "last",
    ),
}
# Longest first, so that "ky truoc" is read whole rather than as "truoc" after a stray "ky".
_PHRASES = sorted(
    ((tuple(phrase.split()), period) for period, phrases in PERIOD_WORDS.items() for phrase in phrases),
    key=lambda item: -len(item[0]),
)


@dataclass
class ExportRequest:
    """What `/xuat …` asked for. `period` is CURRENT, PREVIOUS or a day; `unread` what made no sense."""

    formats: list[str] = field(default_factory=list)
    period: str | dt.date = CURRENT
    unread: list[str] = field(default_factory=list)


def parse_export_request(args: str, *, year: int) -> ExportRequest:
    """Formats, a period and anything unreadable, in any order: "xlsx ky truoc", "20/6 word"."""
    request = ExportRequest()
    rest: list[str] = []
    for word in args.split():
        day = parse_day(word, year)
        if day is not None:
            request.period = day
            continue
        try:
            fmt = normalize_format(word)
        except UnknownFormat:
            rest.append(word)
            continue
        if fmt not in CHAT_FORMATS:
            rest.append(word)
        elif fmt not in request.formats:
            request.formats.append(fmt)
    folded = [fold(word) for word in rest]
    for phrase, period in _PHRASES:
        size = len(phrase)
        at = next((i for i in range(len(folded) - size + 1) if tuple(folded[i : i + size]) == phrase), None)
        if at is not None:
            request.period = period
            del rest[at : at + size], folded[at : at + size]
            break
    request.unread = [word for word, key in zip(rest, folded, strict=True) if key]
    return request


class PeriodError(ValueError):
    """A period the plan has no cycle for; the message is for the user."""


def cycle_asked(ctx: Context, plan: Plan, period: str | dt.date) -> dt.date:
    """The reporting deadline closing the cycle the user named."""
    extra = ctx.extra_deadlines(plan)
    current = ctx.cycle(plan)
    if period == CURRENT:
        return current
    if period == PREVIOUS:
        earlier = previous_cycle(plan, current, extra=extra)
        if earlier is None:
            raise PeriodError(
                _("There is no reporting cycle before the one ending {day}.").format(day=format_day(current))
            )
        return earlier
    deadlines = reporting_deadlines(plan, extra)
    # A day after the last deadline still belongs to the last cycle (a late report), up to the year end.
    last_day = max(deadlines[-1], dt.date(plan.end_year or plan.year, 12, 31))
    if not plan_start(plan) <= period <= last_day:
        raise PeriodError(
            _("Plan {number} has no reporting cycle holding {day}; its deadlines are {days}.").format(
                number=plan.number,
                day=format_short_day(period),
                days=", ".join(format_short_day(day) for day in deadlines),
            )
        )
    return cycle_for(plan, period, extra=extra)


def _button_label(fmt: str) -> str:
    return _("📄 Report (DOCX)") if fmt == "docx" else _("📊 Spreadsheet (XLSX)")


async def export_buttons(ctx: Context, plan_id: int, cycle: dt.date) -> list[Button]:
    """DOCX and XLSX buttons for the summary of `cycle`: one row, as /tonghop and /xuat show them."""
    return [
        await ctx.button(_button_label(fmt), ACTION, format=fmt, plan_id=plan_id, cycle=cycle.isoformat())
        for fmt in BUTTON_FORMATS
    ]


def _how_to_ask() -> str:
    return _(
        "Send /xuat docx, /xuat xlsx, /xuat csv or /xuat zip (Word, Excel and the evidence files); add "
        "“previous” or a deadline such as 20/6 for another cycle."
    )


async def export(ctx: Context, args: str) -> list[Reply]:
    plan = await ctx.plan()
    if plan is None:
        return no_plan()
    request = parse_export_request(args, year=plan.year)
    try:
        cycle = cycle_asked(ctx, plan, request.period)
    except PeriodError as problem:
        return [Reply(str(problem) + "\n" + _how_to_ask())]
    if request.unread or not request.formats:
        lines = [
            _("Which file for the reporting cycle ending {day}?").format(day=format_day(cycle)),
            _how_to_ask(),
        ]
        if request.unread:
            lines.insert(0, _("I cannot make “{given}” into a file.").format(given=" ".join(request.unread)))
        return [Reply("\n".join(lines), buttons=[await export_buttons(ctx, plan.id, cycle)])]
    return await _files(ctx, plan, cycle, request.formats)


async def export_action(ctx: Context, payload: dict) -> list[Reply]:
    """A DOCX/XLSX button: the cycle the button was made for, even when a newer one has begun."""
    fmt, plan_id = payload.get("format"), payload.get("plan_id")
    plan = await plan_by_id(ctx.session, plan_id)
    try:
        cycle = dt.date.fromisoformat(payload.get("cycle", ""))
    except (TypeError, ValueError):
        cycle = None
    if (
        fmt not in CHAT_FORMATS
        or plan is None
        or cycle not in reporting_deadlines(plan, ctx.extra_deadlines(plan))
    ):
        return [Reply(_("That button is no longer valid. Send /trogiup to see what you can do."))]
    return await _files(ctx, plan, cycle, [fmt])


async def _files(ctx: Context, plan: Plan, cycle: dt.date, formats: list[str]) -> list[Reply]:
    summary = await build_summary(
        ctx.session,
        plan.id,
        cycle=cycle,
        today=ctx.judging_day(plan),
        tz=ctx.tz,
        extra_deadlines=ctx.extra_deadlines(plan),
        co_lead_rule=ctx.app.config.report.co_lead_done,
        detail=ALL,
    )
    letterhead = letterhead_from_config(ctx.app.config)
    lines = [
        _(
            "Plan {number}, reporting cycle ending {day}: {reported}/{expected} agencies reported, {tasks} tasks."
        ).format(
            number=summary.plan.number,
            day=format_day(cycle),
            reported=format_number(len(summary.reported_agencies)),
            expected=format_number(len(summary.expected_agencies)),
            tasks=format_number(summary.total),
        )
    ]
    if "docx" in formats:
        lines.append(_("The Word file is a draft: fill in the number, the date and the signer, then sign."))
    reply = Reply("\n".join(lines))

    async def draw() -> None:
        reply.documents = [await _render(summary, fmt, ctx, letterhead) for fmt in formats]

    # The summary was read in the unit of work; the drawing needs no database.
    ctx.when_committed(draw)
    return [reply]


async def _render(summary: Summary, fmt: str, ctx: Context, letterhead) -> Document:
    # The chart and the document take a few hundred milliseconds of CPU on a city's plan: off the event
    # loop, so that other chats and the reminder engine keep being served meanwhile.
    return await asyncio.to_thread(
        render_summary,
        summary,
        fmt,
        language=ctx.language,
        tz=ctx.tz,
        letterhead=letterhead,
        evidence_store=open_store(ctx.app.config),
    )
