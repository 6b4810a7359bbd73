"""Several plans at once: which plan a coordinator's command is about, and /kehoach (/plans), the
plans with their status and progress, where a coordinator closes or reopens one.

A coordinator's command (/tonghop, /chuabaocao, /xuat, /nhacnho) acts on one plan: the one named
first in its arguments ("/tonghop 87", "/xuat 87-2026 docx"), else the only active plan, else (none
active) the plan that ended last; with several active plans it asks with a button per plan.
"""

from __future__ import annotations

from bot.core.context import Context
from bot.core.handlers.access import no_plan
from bot.core.messages import Reply
from bot.i18n import _, format_day, format_number, ngettext
from bot.render.text import shorten
from storage.models.plan import Plan
from storage.plans import lifecycle
from storage.plans.repository import PlanListing, match_plans
from storage.summary import ATTENTION, build_summary, counts_only

PICK_ACTION = "plan_pick"


def plan_label(plan: Plan | PlanListing) -> str:
    """ "87/KH-UBND (2026)", or "… (2021–2025)" for a multi-year plan: how people tell plans apart."""
    first, last = plan.start_year or plan.year, plan.end_year or plan.year
    years = str(first) if last <= first else f"{first}–{last}"
    return f"{plan.number} ({years})"


def status_label(status: str) -> str:
    return {lifecycle.ACTIVE: _("active"), lifecycle.ENDED: _("ended"), lifecycle.CLOSED: _("closed")}[status]


def _listing(plan: Plan, status: str) -> PlanListing:
    return PlanListing(
        plan.id,
        plan.number,
        plan.issued,
        plan.title,
        plan.year,
        0,
        0,
        plan.imported_at,
        issuer=plan.issuer,
        start_year=plan.start_year,
        end_year=plan.end_year,
        status=status,
    )


async def plans_named(ctx: Context, reference: str) -> list[Plan]:
    """The plans `reference` names ("87", "87/KH-UBND", "87-2026", "87/2026"); when it names several
    and exactly one of them is followed, that one."""
    plans = await ctx.plans()
    listings = [_listing(plan, ctx.plan_status(plan)) for plan in plans]
    found = match_plans(listings, reference)
    active = [p for p in found if p.status == lifecycle.ACTIVE]
    if len(found) > 1 and len(active) == 1:
        found = active
    ids = {p.id for p in found}
    return [plan for plan in plans if plan.id in ids]


def _looks_like_plan(word: str) -> bool:
    # A plan is named by its number, which starts with digits; "20/6" (a day) and words are not plans,
    # and neither is a bare small number that is far more likely a task.
    head = word.split("/")[0].split("-")[0]
    return head.isdigit() and not any(part.isdigit() and len(part) <= 2 for part in word.split("/")[1:2])


async def split_plan(ctx: Context, args: str) -> tuple[list[Plan] | None, str]:
    """A plan named at the start of `args` and the rest: (plans named, rest); (None, args) when the
    arguments do not start with a plan reference."""
    words = args.split()
    if not words or not _looks_like_plan(words[0]):
        return None, args
    # "87 2026 docx" names the year as a second word.
    if len(words) > 1 and words[1].isdigit() and len(words[1]) == 4:
        found = await plans_named(ctx, f"{words[0]} {words[1]}")
        if found:
            return found, " ".join(words[2:])
    found = await plans_named(ctx, words[0])
    if not found:
        return None, args
    return found, " ".join(words[1:])


async def pick_plan(ctx: Context, command: str, args: str) -> tuple[Plan, str] | list[Reply]:
    """The plan a coordinator's command is about and the rest of its arguments, or the replies
    asking which (buttons) or saying there is none."""
    named, rest = await split_plan(ctx, args)
    if named is not None and len(named) == 1:
        return named[0], rest
    candidates = named or await ctx.active_plans()
    if not candidates:
        plan = await ctx.last_ended_plan()
        if plan is None:
            return no_plan()
        return plan, rest
    if len(candidates) == 1:
        return candidates[0], rest
    buttons = [
        [
            await ctx.button(
                f"{plan_label(plan)} · {shorten(plan.title, 40)}",
                PICK_ACTION,
                command=command,
                args=rest,
                plan_id=plan.id,
            )
        ]
        for plan in candidates
    ]
    return [
        Reply(
            _("Which plan? Choose it, or send /{command} followed by its number.").format(command=command),
            buttons=buttons,
        )
    ]


# Ended and closed plans listed at once: a department keeps years of them, and each costs a summary
# (a few milliseconds) and, for a coordinator, a button; a chat keyboard holds about a hundred.
EARLIER_SHOWN = 10
MORE_ACTION = "plans_more"


async def show_plans(ctx: Context, args: str) -> list[Reply]:
    """/kehoach: the plans followed and the most recent earlier ones, each with its status and
    progress; coordinators get close/reopen buttons, and a button brings the earlier plans."""
    plans = await ctx.plans()
    if not plans:
        return no_plan()
    followed, earlier = lifecycle.followed_first(plans, ctx.plan_status)
    return await _plans_reply(ctx, _("Plans:"), followed, earlier, 0)


async def more_action(ctx: Context, payload: dict) -> list[Reply]:
    """The next earlier plans, from the button under the last list."""
    offset = payload.get("offset")
    _followed, earlier = lifecycle.followed_first(await ctx.plans(), ctx.plan_status)
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset < len(earlier):
        return [Reply(_("There are no more earlier plans. Send /kehoach to see the plans again."))]
    return await _plans_reply(ctx, _("Earlier plans:"), [], earlier, offset)


async def _plans_reply(
    ctx: Context, heading: str, followed: list[Plan], earlier: list[Plan], offset: int
) -> list[Reply]:
    shown = earlier[offset : offset + EARLIER_SHOWN]
    lines = [heading]
    buttons = []
    for plan in [*followed, *shown]:
        status = ctx.plan_status(plan)
        lines += await _plan_lines(ctx, plan, status)
        if ctx.is_staff:
            if status == lifecycle.ACTIVE:
                label, action = _("Close {plan}").format(plan=plan_label(plan)), "plan_close"
            else:
                label, action = _("Reopen {plan}").format(plan=plan_label(plan)), "plan_reopen"
            buttons.append([await ctx.button(label, action, plan_id=plan.id)])
    left = len(earlier) - offset - len(shown)
    if left > 0:
        lines += [
            "",
            ngettext(
                "{count} earlier plan is not shown.", "{count} earlier plans are not shown.", left
            ).format(count=format_number(left)),
        ]
        buttons.append([await ctx.button(_("Earlier plans"), MORE_ACTION, offset=offset + len(shown))])
    return [Reply("\n".join(lines), buttons=buttons)]


async def _plan_lines(ctx: Context, plan: Plan, status: str) -> list[str]:
    summary = await build_summary(
        ctx.session,
        plan.id,
        start=_first_day(plan),
        end=max(_first_day(plan), ctx.judging_day(plan)),
        today=ctx.judging_day(plan),
        tz=ctx.tz,
        detail=ATTENTION,
        pick=counts_only,
    )
    lines = ["", f"• {plan_label(plan)} — {status_label(status)}"]
    if plan.title.strip():
        lines.append("  " + shorten(plan.title, 100))
    lines.append(
        "  "
        + _("{done}/{total} tasks done, {overdue} overdue").format(
            done=format_number(summary.done),
            total=format_number(summary.total),
            overdue=format_number(summary.timing_counts["overdue"]),
        )
    )
    grace = ctx.app.config.plan.grace_days
    if status == lifecycle.ACTIVE and plan.lifecycle == "auto":
        ends = lifecycle.ends_on(plan, grace, ctx.extra_deadlines(plan))
        lines.append("  " + _("Followed until {day}.").format(day=format_day(ends)))
    return lines


def _first_day(plan: Plan):
    import datetime as dt

    first = dt.date(plan.start_year or plan.year, 1, 1)
    return min(first, plan.issued) if plan.issued else first


async def _change(ctx: Context, payload: dict, change) -> list[Reply]:
    plan = await ctx.plan_by_id(payload.get("plan_id"))
    if plan is None:
        return [Reply(_("That plan no longer exists."))]
    result = change(
        plan, today=ctx.today, now=ctx.now, by=ctx.member.name, grace_days=ctx.app.config.plan.grace_days
    )
    ctx.forget_plans()
    label = plan_label(plan)
    if result.before == result.after:
        text = _("Plan {plan} is already {status}; nothing changed.").format(
            plan=label, status=status_label(result.after)
        )
    elif result.after == lifecycle.CLOSED:
        text = _("Closed plan {plan}: it sends no more reminders and stays readable and exportable.").format(
            plan=label
        )
    else:
        text = _("Reopened plan {plan}: reminders and task lists include it again.").format(plan=label)
    return [Reply(text)]


async def close_action(ctx: Context, payload: dict) -> list[Reply]:
    return await _change(ctx, payload, lifecycle.close)


async def reopen_action(ctx: Context, payload: dict) -> list[Reply]:
    return await _change(ctx, payload, lifecycle.reopen)
