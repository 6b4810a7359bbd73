"""/nhiemvu and /lich: an agency's tasks with their status, and what falls due when, across the
plans being followed (grouped by plan when there are several)."""

from __future__ import annotations

from bot.core import progress
from bot.core.context import Context
from bot.core.handlers.access import needs_agency, no_plan
from bot.core.handlers.agency_choice import agency_buttons, agency_by_id, search_agencies
from bot.core.handlers.plans import plan_label
from bot.core.messages import Reply
from bot.i18n import _, format_day, format_short_day, ngettext
from bot.render.text import Page, shorten, task_list_pages
from storage.collation import vi_sort_key
from storage.models.plan import Agency
from storage.plans import lifecycle

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
    owned: dict[int, None] = {}
    for plan in await ctx.active_plans() or [await ctx.plan()]:
        owned.update(dict.fromkeys((await ctx.plan_tasks.get(ctx.session, plan)).by_agency))
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
    return await _agency_page(ctx, agency, 1, plan_id=payload.get("plan_id"))


async def tasks_page(ctx: Context, payload: dict) -> list[Reply]:
    agency = await agency_by_id(ctx, payload.get("agency_id"))
    if agency is None:
        return [Reply(_("That agency no longer exists."))]
    # A focal point sees only their own agency, whatever a button says.
    if not ctx.is_staff and agency.id != ctx.member.agency_id:
        return [Reply(_("You may only see your own agency's tasks."))]
    return await _agency_page(ctx, agency, int(payload.get("page", 1)), plan_id=payload.get("plan_id"))


def plan_heading(plan) -> str:
    return f"📋 {plan_label(plan)} — {shorten(plan.title, 70)}"


async def _agency_page(ctx: Context, agency: Agency, page: int, plan_id: int | None = None) -> list[Reply]:
    """The agency's tasks in every plan being followed that gives it some (or in the one plan a
    button was made for), each plan under its own heading when there are several."""
    chosen = await ctx.plan_by_id(plan_id) if plan_id is not None else None
    if chosen is not None:
        groups = [(chosen, await ctx.agency_tasks(agency.id, chosen))]
    else:
        groups = await ctx.agency_plans(agency.id)
        if not groups:
            plan = await ctx.plan()
            groups = [(plan, await ctx.agency_tasks(agency.id, plan))]
    pages: list[Page] = []
    for plan, tasks in groups:
        cycle = ctx.cycle(plan)
        lines = await progress.task_lines(
            ctx.session,
            tasks,
            agency_id=agency.id,
            cycle=cycle,
            today=ctx.judging_day(plan),
            tz=ctx.tz,
            co_lead_rule=ctx.app.config.report.co_lead_done,
        )
        heading = plan_heading(plan) if len(groups) > 1 else ""
        limit = ctx.text_limit - len(heading) - 2
        for number, one in enumerate(
            task_list_pages(agency.name, lines, cycle=cycle, limit=limit, tz=ctx.tz)
        ):
            text = f"{heading}\n\n{one.text}" if heading and number == 0 else one.text
            pages.append(Page(text, len(pages) + 1, 0))
    # Short lists of several plans share a page: join neighbours while they fit in one message.
    joined: list[str] = []
    for one in pages:
        if joined and len(joined[-1]) + len(one.text) + 2 <= ctx.text_limit - 40:
            joined[-1] = f"{joined[-1]}\n\n{one.text}"
        else:
            joined.append(one.text)
    pages = [Page(text, number, len(joined)) for number, text in enumerate(joined, start=1)]
    payload = {"agency_id": agency.id}
    if chosen is not None:
        payload["plan_id"] = chosen.id
    return [await page_reply(ctx, pages, page, "tasks_page", **payload)]


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
    """/lich: the reporting deadlines of every plan being followed, in date order, then the tasks of
    the member's agency falling due. With no plan followed, says so and points to the last one."""
    plans = await ctx.active_plans()
    if not plans:
        if not await ctx.plans():
            return no_plan()
        last = await ctx.last_ended_plan()
        ended_on = lifecycle.ends_on(last, ctx.app.config.plan.grace_days, ctx.extra_deadlines(last))
        return [
            Reply(
                _(
                    "No plan is being followed now, so no deadline is coming. The last plan, {plan} "
                    "({title}), ended on {day}; /kehoach lists the plans, and /tonghop {number} shows how it ended."
                ).format(
                    plan=plan_label(last),
                    title=shorten(last.title, 80),
                    day=format_day(min(ended_on, ctx.today)),
                    number=last.number.split("/")[0],
                )
            )
        ]
    today = ctx.today
    several = len(plans) > 1
    entries = []
    for plan in plans:
        cycle = ctx.cycle(plan)
        for deadline in sorted({*plan.deadline_dates, *ctx.extra_deadlines(plan)}):
            entries.append((deadline, plan, deadline == cycle))
    entries.sort(key=lambda entry: (entry[0], entry[1].number))
    if several:
        lines = [_("Reporting deadlines of the plans being followed:")]
    else:
        lines = [_("Reporting deadlines of plan {number}:").format(number=plans[0].number)]
    for deadline, plan, current in entries:
        days = (deadline - today).days
        if days < 0:
            when = _("passed")
        elif days == 0:
            when = _("today")
        else:
            when = ngettext("in {days} day", "in {days} days", days).format(days=days)
        mark = "▶" if current else "•"
        which = f" — {plan_label(plan)}" if several else ""
        lines.append(f"{mark} {format_day(deadline)} ({when}){which}")
    agency = ctx.member.agency
    if agency is not None:
        due = []
        for plan, dated in await ctx.agency_plans(agency.id):
            tasks = await progress.task_lines(
                ctx.session,
                dated,
                agency_id=agency.id,
                cycle=ctx.cycle(plan),
                today=today,
                tz=ctx.tz,
                co_lead_rule=ctx.app.config.report.co_lead_done,
            )
            ends = {task.code: task.end_on for task in dated}
            due += [
                (ends[line.code], plan, line)
                for line in tasks
                if ends.get(line.code) and not line.done and (ends[line.code] - today).days <= SOON_DAYS
            ]
        if due:
            lines.append("")
            lines.append(_("Tasks of {agency} falling due:").format(agency=agency.name))
            for end, plan, line in sorted(due, key=lambda item: (item[0], item[1].number)):
                where = f"{plan.number.split('/')[0]}/" if several else ""
                lines.append(
                    f"• {line.number}. [{where}{line.code}] {shorten(line.content, 70)} — {format_short_day(end)}"
                )
    return [Reply("\n".join(lines))]
