"""A plan's lifecycle: active from import until it ends, on its own or by a coordinator's hand.

The one place that says whether a plan is active, ended or closed, and as of which day an ended
plan is judged:
- `active`: followed — reminders go out, focal points see its tasks, summaries default to it;
- `ended`: its last deadline (a reporting deadline or a task's end) plus the grace has passed;
- `closed`: a coordinator closed it.
An ended or closed plan sends nothing and stays readable and exportable. A coordinator may reopen
either: a closed plan goes back to ending on its own, and a plan reopened after its end stays
active until it is closed again (otherwise reopening it would undo itself the same day).

The status is a function of the stored plan, the day (from the injected clock, in local time) and
the configured grace: nothing here reads the time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlalchemy import ColumnElement, Date, Integer, and_, bindparam, or_

from storage.models.plan import AUTO, CLOSED, KEPT_OPEN, Plan

ACTIVE = "active"
ENDED = "ended"
STATUSES = (ACTIVE, ENDED, CLOSED)
DEFAULT_GRACE_DAYS = 30

P = TypeVar("P")


class PlanLife(Protocol):
    year: int
    end_year: int
    last_deadline: dt.date | None
    lifecycle: str
    lifecycle_changed_at: dt.datetime | None


def last_deadline(plan: PlanLife, extra: Iterable[dt.date] = ()) -> dt.date:
    """The last day anything of the plan falls due (configured extra deadlines included)."""
    days = [d for d in (plan.last_deadline, *extra) if d is not None]
    return max(days, default=dt.date(plan.end_year or plan.year, 12, 31))


def _after(day: dt.date, days: int) -> dt.date:
    # A hand-made file may name a date at the end of the calendar (31/12/9999): it never ends.
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return dt.date.max


def ends_on(plan: PlanLife, grace_days: int, extra: Iterable[dt.date] = ()) -> dt.date:
    """The last day the plan is active when it ends on its own."""
    return _after(last_deadline(plan, extra), grace_days)


def plan_status(
    plan: PlanLife, today: dt.date, *, grace_days: int = DEFAULT_GRACE_DAYS, extra: Iterable[dt.date] = ()
) -> str:
    if plan.lifecycle == CLOSED:
        return CLOSED
    if plan.lifecycle == KEPT_OPEN:
        return ACTIVE
    return ACTIVE if today <= ends_on(plan, grace_days, extra) else ENDED


def followed_first(plans: Iterable[P], status: Callable[[P], str]) -> tuple[list[P], list[P]]:
    """`plans` split into those followed (active) and the earlier ones (ended or closed), each in
    the order given, `status` asked once a plan: what a list of plans shows first, then pages."""
    followed, earlier = [], []
    for plan in plans:
        (followed if status(plan) == ACTIVE else earlier).append(plan)
    return followed, earlier


def may_be_active() -> ColumnElement[bool]:
    """SQL: every plan active on a day, and some that are not (`plan_status` decides); the day and
    the grace are given as `active_on(today, grace_days)`, its parameters. A department keeps its
    plans for years, and what reads the followed ones reads these rather than all of them.

    Of the dates `last_deadline` weighs (the stored last deadline, the configured extra deadlines in
    each of the plan's years, else the end of its last year), none is later than the stored one or
    the last day of the latest of the plan's years; so a plan whose stored last deadline and years
    all lie before the day less the grace has ended. A closed plan is never active."""
    cutoff, year = bindparam("active_cutoff", type_=Date()), bindparam("active_cutoff_year", type_=Integer())
    return and_(
        Plan.lifecycle != CLOSED,
        or_(
            Plan.lifecycle == KEPT_OPEN,
            Plan.last_deadline >= cutoff,
            Plan.year >= year,
            Plan.start_year >= year,
            Plan.end_year >= year,
        ),
    )


def active_on(today: dt.date, grace_days: int) -> dict[str, object]:
    """The parameters of `may_be_active` for `today`: a plan active then has its last deadline on
    or after today less the grace (`ends_on`)."""
    try:
        cutoff = today - dt.timedelta(days=grace_days)
    except OverflowError:
        cutoff = dt.date.min
    return {"active_cutoff": cutoff, "active_cutoff_year": cutoff.year}


def active_through(
    plan: PlanLife, grace_days: int = DEFAULT_GRACE_DAYS, extra: Iterable[dt.date] = ()
) -> dt.date | None:
    """The last day the plan is active, whatever day it is now: None when a coordinator keeps it
    open, `date.min` when one closed it."""
    if plan.lifecycle == CLOSED:
        return dt.date.min
    if plan.lifecycle == KEPT_OPEN:
        return None
    return ends_on(plan, grace_days, extra)


def judging_day(
    plan: PlanLife,
    today: dt.date,
    *,
    grace_days: int = DEFAULT_GRACE_DAYS,
    extra: Iterable[dt.date] = (),
    tz: dt.tzinfo | None = None,
) -> dt.date:
    """The day the plan as a whole is judged from: today while it is active; for an ended plan the
    day after its last deadline (what was not done by then is overdue, not "not due yet"); for a
    closed one the day it was closed, when that came first."""
    status = plan_status(plan, today, grace_days=grace_days, extra=extra)
    if status == ACTIVE:
        return today
    after_last = _after(last_deadline(plan, extra), 1)
    if status == CLOSED and plan.lifecycle_changed_at is not None:
        closed_on = (
            plan.lifecycle_changed_at.astimezone(tz).date() if tz else plan.lifecycle_changed_at.date()
        )
        return min(today, closed_on, after_last)
    return min(today, after_last)


@dataclass(frozen=True)
class Change:
    """What a close or reopen did: the status before and after, as of `today`."""

    before: str
    after: str
    lifecycle: str


def close(plan, *, today: dt.date, now: dt.datetime, by: str, grace_days: int = DEFAULT_GRACE_DAYS) -> Change:
    """Close the plan (the caller's unit of work stores it). Closing a closed plan changes nothing."""
    before = plan_status(plan, today, grace_days=grace_days)
    if plan.lifecycle != CLOSED:
        plan.lifecycle = CLOSED
        plan.lifecycle_changed_at = now
        plan.lifecycle_changed_by = by
    return Change(before, CLOSED, plan.lifecycle)


def reopen(
    plan, *, today: dt.date, now: dt.datetime, by: str, grace_days: int = DEFAULT_GRACE_DAYS
) -> Change:
    """Make the plan active again: back to ending on its own while its dates still run, else kept
    open until closed again. Reopening an active plan changes nothing."""
    before = plan_status(plan, today, grace_days=grace_days)
    if before == ACTIVE:
        return Change(before, ACTIVE, plan.lifecycle)
    plan.lifecycle = AUTO if today <= ends_on(plan, grace_days) else KEPT_OPEN
    plan.lifecycle_changed_at = now
    plan.lifecycle_changed_by = by
    return Change(before, ACTIVE, plan.lifecycle)
