"""/nhiemvu and /lich: an agency's tasks with their status, and what falls due when."""

from __future__ import annotations

from bot.core import progress
from bot.core.context import Context
from bot.core.handlers.access import needs_agency, no_plan
from bot.core.handlers.agency_choice import agency_buttons, agency_by_id, search_agencies
from bot.core.messages import Reply
from bot.i18n import _, format_day, format_short_day, ngettext
from bot.render.text import Page, shorten, task_list_pages
from storage.collation import vi_sort_key
from storage.models.plan import Agency

SOON_DAYS = 45


async def list_tasks(ctx: Context, args: str) -> list[Reply]:
    plan = await ctx.plan()
    if plan is None:
        return no_plan()
    if args and ctx.is_staff:
        matches = await search_agencies(ctx, args)
        if len(matches) == 1:
            return await _agency_page(ctx, matches[0], 1)
        if not matches:
            return [Reply(_("No agency matches “{query}”.").format(query=args))]
        return [Reply(_("Which agency?"), buttons=await agency_buttons(ctx, matches, "agency_tasks"))]
    agency = ctx.member.agency
    if agency is None:
        if ctx.is_staff:
            return await _choose_agency(ctx)
        return needs_agency(ctx)
    return await _agency_page(ctx, agency, 1)


async def _choose_agency(ctx: Context) -> list[Reply]:
    plan = await ctx.plan()
    owned = (await ctx.plan_tasks.get(ctx.session, plan)).by_agency
    agencies = [await ctx.session.get(Agency, agency_id) for agency_id in owned]
    agencies.sort(key=lambda agency: vi_sort_key(agency.name))
    return [
        Reply(
            _("Whose tasks? Choose an agency, or send /nhiemvu followed by its name."),
            buttons=await agency_buttons(ctx, agencies, "agency_tasks"),
        )
    ]


async def agency_tasks_action(ctx: Context, payload: dict) -> list[Reply]:
    agency = await agency_by_id(ctx, payload.get("agency_id"))
    if agency is None:
        return [Reply(_("That agency no longer exists."))]
    return await _agency_page(ctx, agency, 1)


async def tasks_page(ctx: Context, payload: dict) -> list[Reply]:
    agency = await agency_by_id(ctx, payload.get("agency_id"))
    if agency is None:
        return [Reply(_("That agency no longer exists."))]
    # A focal point sees only their own agency, whatever a button says.
    if not ctx.is_staff and agency.id != ctx.member.agency_id:
        return [Reply(_("You may only see your own agency's tasks."))]
    return await _agency_page(ctx, agency, int(payload.get("page", 1)))


async def _agency_page(ctx: Context, agency: Agency, page: int) -> list[Reply]:
    plan = await ctx.plan()
    cycle = ctx.cycle(plan)
    tasks = await ctx.agency_tasks(agency.id)
    lines = await progress.task_lines(
        ctx.session,
        tasks,
        agency_id=agency.id,
        cycle=cycle,
        today=ctx.today,
        tz=ctx.tz,
        co_lead_rule=ctx.app.config.report.co_lead_done,
    )
    pages = task_list_pages(agency.name, lines, cycle=cycle, limit=ctx.text_limit, tz=ctx.tz)
    return [await page_reply(ctx, pages, page, "tasks_page", agency_id=agency.id)]


async def page_reply(ctx: Context, pages: list[Page], number: int, action: str, **payload) -> Reply:
    """Page `number` of a long view, with buttons to the neighbouring pages."""
    number = min(max(number, 1), len(pages))
    page = pages[number - 1]
    buttons = []
    if number > 1:
        buttons.append(await ctx.button(_("◀ Previous"), action, page=number - 1, **payload))
    if number < len(pages):
        buttons.append(await ctx.button(_("Next ▶"), action, page=number + 1, **payload))
    return Reply(page.text, buttons=[buttons] if buttons else [])


async def deadlines(ctx: Context, args: str) -> list[Reply]:
    plan = await ctx.plan()
    if plan is None:
        return no_plan()
    today = ctx.today
    cycle = ctx.cycle(plan)
    lines = [_("Reporting deadlines of plan {number}:").format(number=plan.number)]
    for deadline in sorted({*plan.deadline_dates, *ctx.extra_deadlines(plan)}):
        days = (deadline - today).days
        if days < 0:
            when = _("passed")
        elif days == 0:
            when = _("today")
        else:
            when = ngettext("in {days} day", "in {days} days", days).format(days=days)
        mark = "▶" if deadline == cycle else "•"
        lines.append(f"{mark} {format_day(deadline)} ({when})")
    agency = ctx.member.agency
    if agency is not None:
        dated = await ctx.agency_tasks(agency.id)
        tasks = await progress.task_lines(
            ctx.session,
            dated,
            agency_id=agency.id,
            cycle=cycle,
            today=today,
            tz=ctx.tz,
            co_lead_rule=ctx.app.config.report.co_lead_done,
        )
        ends = {task.code: task.end_on for task in dated}
        due = [
            line
            for line in tasks
            if ends.get(line.code) and not line.done and (ends[line.code] - today).days <= SOON_DAYS
        ]
        if due:
            lines.append("")
            lines.append(_("Tasks of {agency} falling due:").format(agency=agency.name))
            for line in sorted(due, key=lambda item: ends[item.code]):
                lines.append(
                    f"• {line.number}. [{line.code}] {shorten(line.content, 70)} — {format_short_day(ends[line.code])}"
                )
    return [Reply("\n".join(lines))]
