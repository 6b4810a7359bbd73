"""For coordinators: /tonghop (the cycle at a glance), /chuabaocao (who has not reported) and
/nhacnho (remind them now)."""

from __future__ import annotations

from bot.core.context import Context
from bot.core.handlers.access import no_plan
from bot.core.handlers.agency_choice import search_agencies
from bot.core.handlers.tasks import page_reply
from bot.core.messages import Reply
from bot.i18n import _, format_day, ngettext, use_language
from bot.render.text import missing_pages, shorten, summary_pages
from storage import people
from storage.summary import Summary, build_summary

SUMMARY = "summary"
MISSING = "missing"


async def _summary(ctx: Context) -> Summary | None:
    plan = await ctx.plan()
    if plan is None:
        return None
    return await build_summary(
        ctx.session,
        plan.id,
        cycle=ctx.cycle(plan),
        today=ctx.today,
        tz=ctx.tz,
        extra_deadlines=ctx.extra_deadlines(plan),
    )


async def _view(ctx: Context, view: str, page: int) -> list[Reply]:
    summary = await _summary(ctx)
    if summary is None:
        return no_plan()
    if view == MISSING:
        focal = await people.active_focal_points_by_agency(ctx.session)
        names = {agency_id: [m.name for m in members] for agency_id, members in focal.items()}
        pages = missing_pages(summary, limit=ctx.text_limit, tz=ctx.tz, focal_names=names)
    else:
        pages = summary_pages(summary, limit=ctx.text_limit, tz=ctx.tz)
    return [await page_reply(ctx, pages, page, "page", view=view)]


async def summary(ctx: Context, args: str) -> list[Reply]:
    return await _view(ctx, SUMMARY, 1)


async def missing(ctx: Context, args: str) -> list[Reply]:
    return await _view(ctx, MISSING, 1)


async def page(ctx: Context, payload: dict) -> list[Reply]:
    view = payload.get("view")
    if view not in (SUMMARY, MISSING):
        return [Reply(_("That button is no longer valid. Send /trogiup to see what you can do."))]
    return await _view(ctx, view, int(payload.get("page", 1)))


async def remind(ctx: Context, args: str) -> list[Reply]:
    """Write now to the focal points of every agency (or the one named) that has not reported."""
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
