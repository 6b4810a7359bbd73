"""The reminder policy: when, relative to a deadline, reminders go out.

Per kind of deadline (report, quarter, task): reminders a number of calendar days before it at a
local time of day (default 7, 3 and 1 days at 08:00); one that falls on a non-working day moves to the
previous working day, and two that land on the same day merge into one (labelled with the larger
offset, the real distance to the deadline). After the deadline: overdue reminders to the focal points
and an escalation digest to the coordinators, a number of working days later.

`slots_for` is a pure function of the deadline, the policy and the calendar.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from scheduler.calendar import WorkingCalendar, local_instant
from storage.models.reminders import ESCALATION, OVERDUE, QUARTER, REPORT, TASK

# Who a slot is for: the agency's focal points, or the coordinators (a digest).
FOCAL_POINTS = "focal"
COORDINATORS = "coordinators"


@dataclass(frozen=True)
class KindPolicy:
    before_days: tuple[int, ...] = (7, 3, 1)
    send_time: dt.time = dt.time(8, 0)
    overdue_working_days: tuple[int, ...] = (1, 3)
    escalation_working_days: tuple[int, ...] = (1,)

    def __post_init__(self):
        if any(days < 0 for days in self.before_days):
            raise ValueError("days before a deadline cannot be negative")
        if any(days < 1 for days in (*self.overdue_working_days, *self.escalation_working_days)):
            raise ValueError("working days after a deadline start at 1")


@dataclass(frozen=True)
class Policy:
    timezone: dt.tzinfo = field(default_factory=lambda: ZoneInfo("Asia/Ho_Chi_Minh"))
    report: KindPolicy = KindPolicy()
    quarter: KindPolicy = KindPolicy(overdue_working_days=(1,), escalation_working_days=(1,))
    task: KindPolicy = KindPolicy(overdue_working_days=(1,), escalation_working_days=(1,))
    # A reminder sent after its deadline (overdue, digest) stays worth sending this long past its time;
    # after a longer downtime it is dropped rather than delivered stale.
    late_grace: dt.timedelta = dt.timedelta(days=5)
    # When a co-led task is done (storage.progress_rules): every lead said so, or any did.
    co_lead_done: str = "all"
    # A quarter end this close to a reporting deadline (either side) is covered by that deadline's
    # reminders: the agencies are asked once, not twice in the same fortnight.
    merge_window: dt.timedelta = dt.timedelta(days=14)

    def for_kind(self, deadline_kind: str) -> KindPolicy:
        return {REPORT: self.report, QUARTER: self.quarter, TASK: self.task}[deadline_kind]


@dataclass(frozen=True)
class Slot:
    """One planned send for one deadline, before any recipient is known."""

    kind: str  # the deadline's kind before it, overdue or escalation after it
    offset_days: int  # calendar days before the deadline; negative: working days after it
    day: dt.date  # local day it goes out
    due_at: dt.datetime  # UTC
    expires_at: dt.datetime  # UTC
    audience: str  # FOCAL_POINTS or COORDINATORS

    @property
    def label(self) -> str:
        return offset_label(self.offset_days)


def offset_label(offset_days: int) -> str:
    """'T-3' before the deadline, 'T+1' after it: the offset as a recipient reads it."""
    return f"T-{offset_days}" if offset_days >= 0 else f"T+{-offset_days}"


def slots_for(
    deadline_day: dt.date, deadline_kind: str, policy: Policy, calendar: WorkingCalendar
) -> list[Slot]:
    """The sends one deadline calls for, in time order."""
    kind_policy = policy.for_kind(deadline_kind)
    tz = policy.timezone
    at = kind_policy.send_time
    # Before the deadline a reminder is useful until the deadline day is over.
    end_of_deadline = local_instant(deadline_day + dt.timedelta(days=1), dt.time(0, 0), tz)

    by_day: dict[dt.date, int] = {}
    for offset in kind_policy.before_days:
        day = calendar.previous_working_day(deadline_day - dt.timedelta(days=offset))
        by_day[day] = max(offset, by_day.get(day, offset))
    slots = [
        Slot(deadline_kind, offset, day, local_instant(day, at, tz), end_of_deadline, FOCAL_POINTS)
        for day, offset in by_day.items()
    ]

    for kind, counts, audience in (
        (OVERDUE, kind_policy.overdue_working_days, FOCAL_POINTS),
        (ESCALATION, kind_policy.escalation_working_days, COORDINATORS),
    ):
        for count in sorted(set(counts)):
            day = calendar.add_working_days(deadline_day, count)
            due = local_instant(day, at, tz)
            slots.append(Slot(kind, -count, day, due, due + policy.late_grace, audience))
    return sorted(slots, key=lambda s: (s.due_at, s.audience != FOCAL_POINTS))
