"""Reporting cycles: the stretch of days whose reports count towards one reporting deadline.

A plan names its reporting deadlines ("trước ngày 20/6 và 20/11"); each deadline closes a cycle that
began the day after the previous deadline. The first cycle begins on 1 January of the plan's year (or
on the issue date, when the plan was issued the year before). A day after the last deadline still
belongs to the last cycle: a late report counts towards the deadline it missed, not to nothing.

A plan that names no deadline has a cycle closing on 31 December of each year it covers.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from typing import Protocol


class PlanDates(Protocol):
    """What cycles need from a plan (the `Plan` model has it; so can a test's stand-in)."""

    year: int
    issued: dt.date | None

    @property
    def deadline_dates(self) -> list[dt.date]: ...


def _years(plan: PlanDates) -> range:
    return getattr(plan, "years", None) or range(plan.year, plan.year + 1)


def reporting_deadlines(plan: PlanDates, extra: Iterable[dt.date] = ()) -> list[dt.date]:
    """The plan's reporting deadlines, with any configured extra ones, sorted and without repeats."""
    days = sorted({*plan.deadline_dates, *extra})
    return days or [dt.date(year, 12, 31) for year in _years(plan)]


def plan_start(plan: PlanDates) -> dt.date:
    first_of_year = dt.date(plan.year, 1, 1)
    return min(first_of_year, plan.issued) if plan.issued else first_of_year


def cycle_for(plan: PlanDates, day: dt.date, *, extra: Iterable[dt.date] = ()) -> dt.date:
    """The reporting deadline whose cycle holds `day`: the first deadline on or after it, else the last."""
    deadlines = reporting_deadlines(plan, extra)
    index = bisect.bisect_left(deadlines, day)
    return deadlines[min(index, len(deadlines) - 1)]


def cycle_bounds(
    plan: PlanDates, cycle: dt.date, *, extra: Iterable[dt.date] = ()
) -> tuple[dt.date, dt.date]:
    """First and last day (inclusive) of the cycle closing on `cycle`.

    `cycle` must be one of the plan's deadlines: a date that closes no cycle is a caller's mistake
    (a typo on the command line, say) and raises ValueError naming the deadlines there are.
    """
    deadlines = reporting_deadlines(plan, extra)
    if cycle not in deadlines:
        named = ", ".join(d.isoformat() for d in deadlines)
        raise ValueError(f"{cycle.isoformat()} is not a reporting deadline of this plan ({named})")
    index = deadlines.index(cycle)
    start = deadlines[index - 1] + dt.timedelta(days=1) if index else plan_start(plan)
    return start, cycle


def previous_cycle(plan: PlanDates, cycle: dt.date, *, extra: Iterable[dt.date] = ()) -> dt.date | None:
    deadlines = reporting_deadlines(plan, extra)
    index = deadlines.index(cycle)
    return deadlines[index - 1] if index else None
