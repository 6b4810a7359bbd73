"""For coordinators: /tonghop (the cycle at a glance, its chart, buttons to export it or open one
agency), /chuabaocao (who has not reported) and /nhacnho (remind them now)."""

from __future__ import annotations

import asyncio

from bot.core.context import Context
from bot.core.handlers.access import no_plan
from bot.core.handlers.agency_choice import search_agencies
from bot.core.handlers.exports import export_buttons
from bot.core.handlers.plans import plan_label, status_label
from bot.core.handlers.tasks import page_reply
from bot.core.messages import Reply
from bot.i18n import _, format_day, format_number, ngettext, use_language
from bot.render.exports import chart_image
from bot.render.text import Page, missing_pages, shorten, summary_pages
from storage import people
from storage.plans import lifecycle
from storage.summary import ALL, ATTENTION, Pick, Summary, attention_first, build_summary, counts_only

SUMMARY = "summary"
MISSING = "missing"
# Agency buttons beyond this would bury the chat; the rest are a /nhiemvu NAME away.
MAX_AGENCY_BUTTONS = 30
# Blocked and overdue tasks /tonghop lists, of each; the report files list every one. Most city
# plans have fewer; a province's has thousands, hundreds of chat pages nobody reads through.
ATTENTION_SHOWN = 50


async def _summary(ctx: Context, detail: str = ALL, pick: Pick | None = None) -> Summary | None:
    """The current plan's summary, detailed as far as the view needs: what needs attention for
    /tonghop (a province's plan is then counted by the database, not judged task by task), every
    task for /chuabaocao and /nhacnho (they name those without an update), counts only for buttons."""
    plan = await ctx.plan()
    if plan is None:
        return None
    return await build_summary(
        ctx.session,
        plan.id,
        cycle=ctx.cycle(plan),
        # An ended plan reads as it stood when it ended (storage.plans.lifecycle.judging_day).
        today=ctx.judging_day(plan),
        tz=ctx.tz,
        extra_deadlines=ctx.extra_deadlines(plan),
        co_lead_rule=ctx.app.config.report.co_lead_done,
        detail=detail,
        pick=pick,
    )


async def _view(ctx: Context, view: str, page: int, summary: Summary | None = None) -> list[Reply]:
    if summary is None:
        summary = await (_listed_summary(ctx) if view == SUMMARY else _summary(ctx, ALL))
    if summary is None:
        return no_plan()
    if view == MISSING:
        focal = await people.active_focal_points_by_agency(ctx.session)
        names = {agency_id: [m.name for m in members] for agency_id, members in focal.items()}
        heading = ""
        if len(await ctx.active_plans()) > 1:
            heading = f"📋 {plan_label(await ctx.plan())}\n"
        pages = missing_pages(summary, limit=ctx.text_limit - len(heading), tz=ctx.tz, focal_names=names)
        pages = [Page(heading + p.text, p.number, p.count) for p in pages]
        return [await page_reply(ctx, pages, page, "page", view=view, plan_id=summary.plan.id)]
    pages = summary_pages(summary, limit=ctx.text_limit, tz=ctx.tz)
    reply = await page_reply(ctx, pages, page, "page", view=view, plan_id=summary.plan.id)
    # Every page carries the way on: whichever page the reader stops at, the file is one tap away.
    reply.buttons.append(await export_buttons(ctx, summary.plan.id, summary.cycle))
    if summary.expected_agencies:
        reply.buttons.append(
            [await ctx.button(_("🏢 Open an agency"), "summary_agencies", plan_id=summary.plan.id)]
        )
    return [reply]


async def _listed_summary(ctx: Context) -> Summary | None:
    """What /tonghop shows: the counts, and the first of the blocked and of the overdue tasks."""
    return await _summary(ctx, ATTENTION, attention_first(ATTENTION_SHOWN))


async def summary(ctx: Context, args: str) -> list[Reply]:
    summary = await _listed_summary(ctx)
    replies = await _view(ctx, SUMMARY, 1, summary)
    if summary is not None and summary.expected_agencies:
        chart = Reply("")

        async def draw() -> None:
            # A good part of a second on a large plan: off the event loop, and after the commit.
            chart.images = [await asyncio.to_thread(chart_image, summary, language=ctx.language)]

        ctx.when_committed(draw)
        replies.append(chart)
    return replies


async def agency_choice(ctx: Context, payload: dict) -> list[Reply]:
    """The agencies of the summary as buttons, in its order (those that have not reported first),
    each opening that agency's tasks."""
    await _plan_of(ctx, payload)
    summary = await _summary(ctx, ATTENTION, counts_only)
    if summary is None:
        return no_plan()
    ordered = sorted(summary.expected_agencies, key=lambda a: (a.reported, a.completion))
    if not ordered:
        return [Reply(_("No agency leads a task of this plan."))]
    shown = ordered[:MAX_AGENCY_BUTTONS]
    buttons = [
        [
            await ctx.button(
                f"{'✓' if agency.reported else '✗'} {agency.label} — {agency.done}/{agency.total}",
                "agency_tasks",
                agency_id=agency.id,
                plan_id=summary.plan.id,
            )
        ]
        for agency in shown
    ]
    text = _("Whose tasks? Those that have not reported come first.")
    if len(ordered) > len(shown):
        text += "\n" + _(
            "Showing {shown} of {total} agencies; send /nhiemvu followed by a name for any other."
        ).format(shown=format_number(len(shown)), total=format_number(len(ordered)))
    return [Reply(text, buttons=buttons)]


async def missing(ctx: Context, args: str) -> list[Reply]:
    return await _view(ctx, MISSING, 1)


async def _plan_of(ctx: Context, payload: dict) -> None:
    """A button made for one plan's view stays on that plan."""
    if "plan_id" in payload:
        ctx.use_plan(await ctx.plan_by_id(payload["plan_id"]))


async def page(ctx: Context, payload: dict) -> list[Reply]:
    view = payload.get("view")
    if view not in (SUMMARY, MISSING):
        return [Reply(_("That button is no longer valid. Send /trogiup to see what you can do."))]
    await _plan_of(ctx, payload)
    return await _view(ctx, view, int(payload.get("page", 1)))


async def remind(ctx: Context, args: str) -> list[Reply]:
    """Write now to the focal points of every agency (or the one named) that has not reported."""
    plan = await ctx.plan()
    if plan is not None and ctx.plan_status(plan) != lifecycle.ACTIVE:
        return [
            Reply(
                _("Plan {plan} is {status}: it sends no reminders. /kehoach can reopen it.").format(
                    plan=plan_label(plan), status=status_label(ctx.plan_status(plan))
                )
            )
        ]
    # Every task: each reminder names the agency's tasks without an update.
    summary = await _summary(ctx)
    if summary is None:
        return no_plan()
    targets = summary.missing_agencies
    if args:
        named = {agency.id for agency in await search_agencies(ctx, args)}
        targets = [agency for agency in summary.expected_agencies if agency.id in named]
        if not targets:
            return [
                Reply(_("No agency expected to report matches “{query}”.").format(query=shorten(args, 60)))
            ]
    deadline = summary.cycle or summary.end
    focal = await people.active_focal_points_by_agency(ctx.session)
    replies: list[Reply] = []
    reminded: list[str] = []
    nobody: list[str] = []
    for agency in targets:
        sent = False
        for member in focal.get(agency.id, []):
            identity = ctx.address_of(member)
            if identity is None or not member.reachable:
                continue
            with use_language(member.language):
                codes = ", ".join(task.code for task in agency.tasks_without_update) or "—"
                text = "\n".join(
                    [
                        _("Reminder from {coordinator}: the report of {agency} is due {day}.").format(
                            coordinator=ctx.member.name, agency=agency.name, day=format_day(deadline)
                        ),
                        _("Tasks with no update this cycle: {codes}").format(codes=codes),
                        _("Reply with /capnhat to report, or /nhiemvu to see your tasks."),
                    ]
                )
            replies.append(ctx.to_identity(identity, Reply(text)))
            sent = True
        (reminded if sent else nobody).append(agency.label)
    lines = []
    if reminded:
        lines.append(
            ngettext(
                "Reminded {count} agency: {names}.", "Reminded {count} agencies: {names}.", len(reminded)
            ).format(count=len(reminded), names=", ".join(reminded))
        )
    if nobody:
        lines.append(
            _("No reachable focal point for: {names}. Invite one with /moi.").format(names=", ".join(nobody))
        )
    if not targets:
        lines.append(_("Every agency has reported this cycle; nobody to remind."))
    return [Reply("\n".join(lines)), *replies]
