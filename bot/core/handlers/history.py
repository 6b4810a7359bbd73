"""/lichsu (a task's history) and /donvi (one agency at a glance, for coordinators)."""

from __future__ import annotations

from sqlalchemy import select

from bot.core import progress
from bot.core.context import Context
from bot.core.handlers.access import needs_agency, no_plan
from bot.core.handlers.agency_choice import agency_buttons, agency_by_id, search_agencies
from bot.core.messages import Reply
from bot.core.parsing import parse_task_ref
from bot.i18n import _, format_number, format_short_day
from bot.render.text import paginate, percent_text, reported_label, shorten, standing_text
from storage import evidence as evidence_store
from storage import people
from storage.history import task_history
from storage.models.plan import Agency
from storage.summary import ATTENTION, build_summary, of_agency


async def task_history_command(ctx: Context, args: str) -> list[Reply]:
    plan = await ctx.plan()
    if plan is None:
        return no_plan()
    ref = parse_task_ref(args.split()[0]) if args.strip() else None
    if ref is None:
        return [
            Reply(_("Which task? Send /lichsu followed by its number, for example /lichsu I.4 or /lichsu 2."))
        ]
    if ctx.is_staff and ref.code is not None:
        assigned = (await ctx.plan_tasks.get(ctx.session, plan)).by_id.values()
        task = next((task for task in assigned if task.code.upper() == ref.code), None)
    else:
        agency = ctx.member.agency
        if agency is None:
            return needs_agency(ctx)
        task = progress.find_task(await ctx.agency_tasks(agency.id), ref)
        if task is None and ref.code is not None:
            # A focal point sees only what their agency answers for; say so rather than "not found".
            assigned = (await ctx.plan_tasks.get(ctx.session, plan)).by_id.values()
            if any(other.code.upper() == ref.code for other in assigned):
                return [Reply(_("You may only see your own agency's tasks."))]
    if task is None:
        return [
            Reply(_("There is no task {task} in plan {number}.").format(task=str(ref), number=plan.number))
        ]
    versions = await task_history(ctx.session, task.id)
    rows = await ctx.session.execute(select(Agency.id, Agency.short_name, Agency.name))
    names = {key: short or name for key, short, name in rows}
    header = _("History of task {code}: {content}").format(code=task.code, content=shorten(task.content, 120))
    if not versions:
        return [Reply(header + "\n" + _("Nothing has been reported on this task yet."))]
    blocks = []
    files = await evidence_store.of_updates(ctx.session, sorted({v.update_id for v in versions}))
    for version in versions:
        local = version.since.astimezone(ctx.tz)
        said = reported_label(version.status)
        if version.percent is not None:
            said += f" {percent_text(version.percent)}"
        who = ", ".join(part for part in (version.member_name, names.get(version.agency_id)) if part)
        line = f"• {local:%d/%m/%Y %H:%M} — {said}" + (f" ({who})" if who else "")
        if version.revised:
            line += " " + _("[edited]")
        if version.replaced_at is not None:
            line += " " + _("[replaced by a later edit]")
        if version.note:
            line += f"\n   “{shorten(version.note, 200)}”"
        shown = _evidence_shown(version.evidence, files.get(version.update_id, []))
        if shown:
            line += f"\n   📎 {shown}"
        blocks.append(line)
    return [Reply(page.text) for page in paginate(header, blocks, ctx.text_limit)]


async def agency_command(ctx: Context, args: str) -> list[Reply]:
    plan = await ctx.plan()
    if plan is None:
        return no_plan()
    if not args.strip():
        return [Reply(_("Which agency? Send /donvi followed by its name, for example /donvi Sở Du lịch."))]
    matches = await search_agencies(ctx, args)
    if not matches:
        return [Reply(_("No agency matches “{query}”.").format(query=args))]
    if len(matches) > 1:
        return [Reply(_("Which agency?"), buttons=await agency_buttons(ctx, matches, "agency_overview"))]
    return await _agency_overview(ctx, matches[0])


async def agency_overview_action(ctx: Context, payload: dict) -> list[Reply]:
    agency = await agency_by_id(ctx, payload.get("agency_id"))
    if agency is None:
        return [Reply(_("That agency no longer exists."))]
    return await _agency_overview(ctx, agency)


async def _agency_overview(ctx: Context, agency: Agency) -> list[Reply]:
    plan = await ctx.plan()
    summary = await build_summary(
        ctx.session,
        plan.id,
        cycle=ctx.cycle(plan),
        today=ctx.today,
        tz=ctx.tz,
        extra_deadlines=ctx.extra_deadlines(plan),
        detail=ATTENTION,
        agency_id=agency.id,
        co_lead_rule=ctx.app.config.report.co_lead_done,
        pick=of_agency(agency.id),
    )
    found = summary.agency(agency.id)
    focal = (await people.active_focal_points_by_agency(ctx.session)).get(agency.id, [])
    lines = [agency.name]
    if focal:
        people_text = ", ".join(
            member.name if member.reachable else _("{name} (cannot be reached)").format(name=member.name)
            for member in focal
        )
        lines.append(_("Focal points: {names}").format(names=people_text))
    else:
        lines.append(_("No focal point registered."))
    if found is None or not found.expected:
        lines.append(_("The plan assigns no task to this agency."))
        return [Reply("\n".join(lines))]
    last = format_short_day(found.last_update_at.astimezone(ctx.tz).date()) if found.last_update_at else "—"
    lines.append(_("Last reported: {day}").format(day=last))
    lines.append(
        _("{done}/{count} done · average progress {percent}").format(
            done=format_number(found.done),
            count=format_number(found.total),
            percent=percent_text(round(found.average_progress)),
        )
    )
    blocks = []
    for number, task in enumerate(found.tasks, start=1):
        view = found.view(task)
        own = [update for update in task.updates if update.agency_id == agency.id]
        latest = own[-1] if own else None
        block = f"{number}. [{task.code}] {shorten(task.content, 110)}\n   {standing_text(view.reported, view.percent, view.timing)}"
        if latest is not None:
            block += " · " + format_short_day(latest.created_at.astimezone(ctx.tz).date())
            if latest.note:
                block += f"\n   “{shorten(latest.note, 140)}”"
            if latest.evidence_items:
                block += "\n   📎 " + ", ".join(latest.evidence_items)
        blocks.append(block)
    pages = paginate("\n".join(lines), blocks, ctx.text_limit)
    return [Reply(page.text) for page in pages]


def _evidence_shown(evidence: str | None, files) -> str:
    """Files by the names they were sent with, a link as typed; never a platform's file id."""
    if files:
        return ", ".join(row.original_name or _("a file") for row in files)
    if evidence and not evidence_store.names_a_file(evidence):
        return evidence
    return ""
