"""Where a plan stands in one reporting cycle (or any date range): the model every report renders.

Derived task status (`derive_status`); the first rule that applies wins:

1. done_on_time / done_late — the latest update says DONE. On time when it was recorded (local
   date) on or before the task's end date, or, for a task without one, on or before the period's end.
2. blocked — the latest update says BLOCKED (a blocker is reported as such even when past due).
3. overdue — the task's due date (its end date, or the period's end for a task without one) is
   before the day the summary looks from (`as_of`), and the task is not done.
4. in_progress — the latest update says IN_PROGRESS.
5. not_due — nothing reported, or NOT_STARTED, and the due date has not passed.

`as_of` is `today` while the period is open; for a period that has closed it is the day after its
end, so a past cycle reads as it stood when it closed: a task due later is not called overdue in
hindsight, one due by the deadline and not done is.

The latest update of a task is the last one recorded on it by any agency up to the end of the period.
In cycle mode that is among updates counted towards this cycle or an earlier one, the latest cycle
first, then the latest recorded (a late report for an earlier cycle does not hide a newer one); in
range mode, among updates recorded before the range's last day was over. A task was *updated in the
period* when that latest update falls in the period. An agency has *reported* when it recorded any
update on this plan in the period. Agencies *expected* to report are those leading at least one task;
a task whose lead cell named no agency is led by its section's agency.

How it is read. Counts are computed by the database in one statement: the latest update of every
task is one index seek per task (ix_progress_update_task_cycle, or ix_progress_update_task_created
for a date range), the status rules above are a CASE expression over it, and the rows are grouped by
lead agency and status. The same statement names the tasks that need attention (blocked, overdue).
Task details — text, links, the latest note and who wrote it — are then fetched for every task
(`detail=ALL`, for exports) or only for the tasks that need attention and, optionally, one agency's
tasks (`detail=ATTENTION`, for a chat overview of a plan too large to list). Materialising every task
of a 60,000-task plan costs far more than counting them, hence the choice.

The CASE expression and `derive_status` state the same rules twice, once for the database and once
for a single task in hand; tests hold them to the same answers on both back ends.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import zoneinfo
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

from sqlalchemy import (
    Date,
    Integer,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased

from storage.cycles import cycle_bounds, cycle_for, reporting_deadlines
from storage.group_progress import GroupProgress, group_progress
from storage.models import Agency, Member, Plan, ProgressUpdate, Section, Task, TaskAgency
from storage.models.people import ACTIVE, FOCAL
from storage.models.people import BLOCKED as REPORTED_BLOCKED
from storage.models.people import DONE as REPORTED_DONE
from storage.models.people import IN_PROGRESS as REPORTED_IN_PROGRESS
from storage.models.plan import COORDINATING, LEAD

DEFAULT_TZ = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")

# Derived statuses, in the order a coordinator reads them: what needs attention first.
BLOCKED = "blocked"
OVERDUE = "overdue"
IN_PROGRESS = "in_progress"
NOT_DUE = "not_due"
DONE_LATE = "done_late"
DONE_ON_TIME = "done_on_time"
STATUSES = (BLOCKED, OVERDUE, IN_PROGRESS, NOT_DUE, DONE_LATE, DONE_ON_TIME)
DONE_STATUSES = frozenset((DONE_ON_TIME, DONE_LATE))
ATTENTION_STATUSES = (BLOCKED, OVERDUE)
STATUS_RANK = {status: rank for rank, status in enumerate(STATUSES)}

# How much task detail a summary carries (counts are always complete).
ALL = "all"
ATTENTION = "attention"

# Ids in one IN (...) list; SQLite allows 32,766 bound parameters per statement.
_ID_CHUNK = 10_000


class PlanNotFound(LookupError):
    pass


class _HasEnd(Protocol):
    end_on: dt.date | None


class _HasReport(Protocol):
    status: str
    created_at: dt.datetime


def as_of_day(today: dt.date, period_end: dt.date) -> dt.date:
    """The day a summary looks from: today, or the day after a period that has already closed."""
    return today if today <= period_end else period_end + dt.timedelta(days=1)


def derive_status(
    task: _HasEnd,
    latest: _HasReport | None,
    today: dt.date,
    period_end: dt.date,
    *,
    tz: dt.tzinfo = DEFAULT_TZ,
) -> str:
    """A task's status from its latest update (a ProgressUpdate, an UpdateInfo, or None).

    The rules are in this module's docstring; `task` needs `end_on`, `latest` needs `status` and an
    aware `created_at`.
    """
    due = task.end_on or period_end
    reported = latest.status if latest is not None else None
    if reported == REPORTED_DONE:
        done_on = latest.created_at.astimezone(tz).date()
        return DONE_ON_TIME if done_on <= due else DONE_LATE
    if reported == REPORTED_BLOCKED:
        return BLOCKED
    if due < as_of_day(today, period_end):
        return OVERDUE
    if reported == REPORTED_IN_PROGRESS:
        return IN_PROGRESS
    return NOT_DUE


@dataclass(slots=True)
class UpdateInfo:
    """A task's latest update: what was said, by whom, when."""

    id: int
    agency_id: int
    member_id: int | None
    member_name: str | None
    status: str  # as reported: not_started / in_progress / done / blocked
    percent: int | None
    note: str
    evidence: str | None
    cycle: dt.date
    created_at: dt.datetime  # aware, UTC
    edited_at: dt.datetime | None


@dataclass(slots=True)
class TaskSummary:
    id: int
    section_id: int
    number: int
    code: str
    content: str
    timeframe_text: str
    start_on: dt.date | None
    end_on: dt.date | None
    lead_text: str
    coordinating_text: str
    responsible: str
    lead_ids: list[int] = field(default_factory=list)
    coordinating_ids: list[int] = field(default_factory=list)
    status: str = NOT_DUE
    latest: UpdateInfo | None = None
    updated_in_period: bool = False
    # Set when a revision of the plan dropped the task: it still shows in the periods it was part
    # of (those that began before it was dropped), marked as removed from the plan.
    removed_on: dt.date | None = None

    @property
    def done(self) -> bool:
        return self.status in DONE_STATUSES


@dataclass(slots=True)
class SectionSummary:
    id: int
    numeral: str
    position: int
    heading: str  # the agency as the plan writes it
    agency_id: int | None
    tasks: list[TaskSummary] = field(default_factory=list)  # the detailed ones, in plan order


@dataclass(slots=True)
class AgencySummary:
    id: int
    name: str
    short_name: str | None
    # Derived statuses of every task it leads, and how many of those nobody updated in the period.
    counts: Counter = field(default_factory=Counter)
    without_update: int = 0
    reported: bool = False  # recorded at least one update on this plan in the period
    focal_points: int = 0  # active focal points registered for it
    unreachable_members: int = 0
    # The detailed tasks it leads or coordinates (all of them when the summary's detail is ALL).
    lead_tasks: list[TaskSummary] = field(default_factory=list)
    coordinating_tasks: list[TaskSummary] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.short_name or self.name

    @property
    def total(self) -> int:
        """How many tasks it leads."""
        return sum(self.counts.values())

    @property
    def expected(self) -> bool:
        return self.total > 0

    @property
    def done(self) -> int:
        return self.counts[DONE_ON_TIME] + self.counts[DONE_LATE]

    @property
    def completion(self) -> float:
        """Share of the tasks it leads that are done (0 when it leads none)."""
        return self.done / self.total if self.total else 0.0

    @property
    def tasks_without_update(self) -> list[TaskSummary]:
        """Detailed tasks it leads that nobody updated in the period."""
        return [task for task in self.lead_tasks if not task.updated_in_period]

    @property
    def last_update_at(self) -> dt.datetime | None:
        """When it last recorded the latest word on one of its detailed tasks."""
        moments = [
            task.latest.created_at
            for task in (*self.lead_tasks, *self.coordinating_tasks)
            if task.latest is not None and task.latest.agency_id == self.id
        ]
        return max(moments, default=None)


@dataclass(slots=True)
class MemberInfo:
    id: int
    name: str
    role: str
    agency_id: int | None
    agency_name: str | None
    reason: str | None
    since: dt.datetime | None


@dataclass(frozen=True, slots=True)
class PlanInfo:
    id: int
    number: str
    title: str
    issued: dt.date | None
    year: int
    deadlines: tuple[dt.date, ...]


@dataclass
class Summary:
    plan: PlanInfo
    cycle: dt.date | None  # the reporting deadline, when the period is a cycle
    start: dt.date
    end: dt.date
    today: dt.date
    detail: str  # ALL: every task below; ATTENTION: blocked and overdue ones (and one agency's)
    counts: Counter  # derived status of every task of the plan
    unassigned: int  # tasks that name no lead agency, not even through their section
    sections: list[SectionSummary]
    tasks: list[TaskSummary]  # the detailed tasks, in plan order
    agencies: list[AgencySummary]  # section agencies in plan order, then the others by name
    unreachable: list[MemberInfo]  # active members whose messages cannot be delivered
    # Groups whose members each report for themselves: "n of N units reported" (storage.group_progress).
    groups: list[GroupProgress] = field(default_factory=list)

    @property
    def as_of(self) -> dt.date:
        return as_of_day(self.today, self.end)

    @property
    def complete(self) -> bool:
        return self.detail == ALL

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        return self.counts[DONE_ON_TIME] + self.counts[DONE_LATE]

    @property
    def completion(self) -> float:
        return self.done / self.total if self.total else 0.0

    @cached_property
    def task_by_id(self) -> dict[int, TaskSummary]:
        return {task.id: task for task in self.tasks}

    @cached_property
    def agency_by_id(self) -> dict[int, AgencySummary]:
        return {agency.id: agency for agency in self.agencies}

    def agency(self, agency_id: int) -> AgencySummary | None:
        return self.agency_by_id.get(agency_id)

    def agency_label(self, agency_id: int | None) -> str:
        found = self.agency_by_id.get(agency_id) if agency_id is not None else None
        return found.label if found else ""

    @cached_property
    def expected_agencies(self) -> list[AgencySummary]:
        return [agency for agency in self.agencies if agency.expected]

    @cached_property
    def reported_agencies(self) -> list[AgencySummary]:
        return [agency for agency in self.expected_agencies if agency.reported]

    @cached_property
    def missing_agencies(self) -> list[AgencySummary]:
        """Expected to report, and recorded nothing in the period."""
        return [agency for agency in self.expected_agencies if not agency.reported]

    @cached_property
    def blockers(self) -> list[TaskSummary]:
        return [task for task in self.tasks if task.status == BLOCKED]

    @cached_property
    def overdue(self) -> list[TaskSummary]:
        return [task for task in self.tasks if task.status == OVERDUE]

    @property
    def attention(self) -> list[TaskSummary]:
        """Blocked tasks first, then overdue ones, each in plan order."""
        return self.blockers + self.overdue

    def ordered_tasks(self) -> list[TaskSummary]:
        """The detailed tasks, blockers first, then by status rank; plan order within a status."""
        return sorted(self.tasks, key=lambda task: STATUS_RANK[task.status])


def local_midnight(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    """The UTC instant a local calendar day begins (periods are local days; columns hold UTC)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC)


@dataclass(frozen=True)
class _Period:
    cycle: dt.date | None
    start: dt.date
    end: dt.date
    today: dt.date
    tz: dt.tzinfo

    @property
    def as_of(self) -> dt.date:
        return as_of_day(self.today, self.end)

    @property
    def starts_at(self) -> dt.datetime:
        return local_midnight(self.start, self.tz)

    @property
    def ends_before(self) -> dt.datetime:
        return local_midnight(self.end + dt.timedelta(days=1), self.tz)


async def build_summary(
    session: AsyncSession,
    plan_id: int,
    *,
    cycle: dt.date | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    today: dt.date,
    tz: dt.tzinfo = DEFAULT_TZ,
    extra_deadlines: Iterable[dt.date] = (),
    detail: str = ALL,
    agency_id: int | None = None,
) -> Summary:
    """Summarise a plan for one reporting cycle (by default the cycle holding `today`) or a range.

    Give `cycle` (one of the plan's reporting deadlines), or both `start` and `end` (inclusive local
    days), or neither. `detail=ATTENTION` details only blocked and overdue tasks, plus the tasks led
    by `agency_id` when given; counts are complete either way. Raises PlanNotFound, or ValueError for
    a cycle or range that makes no sense.
    """
    if detail not in (ALL, ATTENTION):
        raise ValueError(f"unknown detail {detail!r}")
    with _collector_paused():
        return await _build_summary(
            session, plan_id, cycle, start, end, today, tz, extra_deadlines, detail, agency_id
        )


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the summary is built.

    A large plan means hundreds of thousands of small objects, all still referenced until the
    summary is returned; the collector would run full passes over them again and again and free
    nothing (measured: a fifth of the time on 60,000 tasks). Reference counting still frees
    everything short-lived. The collector is turned back on only if it was on before.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def _build_summary(session, plan_id, cycle, start, end, today, tz, extra_deadlines, detail, agency_id):
    plan = await session.get(Plan, plan_id)
    if plan is None:
        raise PlanNotFound(f"no plan with id {plan_id}")
    extra = tuple(extra_deadlines)
    if start is None and end is None:
        cycle = cycle or cycle_for(plan, today, extra=extra)
        start, end = cycle_bounds(plan, cycle, extra=extra)
    elif cycle is not None:
        raise ValueError("give a reporting cycle or a date range, not both")
    elif start is None or end is None:
        raise ValueError("a date range needs both its first and its last day")
    elif start > end:
        raise ValueError(f"the range starts ({start.isoformat()}) after it ends ({end.isoformat()})")
    period = _Period(cycle, start, end, today, tz)

    # Column queries go through the Core connection: the ORM's entity machinery would cost more
    # than the queries themselves on a plan of tens of thousands of tasks.
    conn = await session.connection()
    sections = [
        SectionSummary(*row)
        for row in await conn.execute(
            select(Section.id, Section.numeral, Section.position, Section.heading, Section.agency_id)
            .where(
                Section.plan_id == plan_id,
                or_(Section.archived_at.is_(None), Section.archived_at >= period.starts_at),
            )
            .order_by(Section.position)
        )
    ]
    names = {
        row[0]: (row[1], row[2])
        for row in await conn.execute(select(Agency.id, Agency.name, Agency.short_name))
    }
    agencies: dict[int, AgencySummary] = {}

    def agency(key: int) -> AgencySummary:
        found = agencies.get(key)
        if found is None:
            name, short_name = names.get(key, (f"#{key}", None))
            found = agencies[key] = AgencySummary(key, name, short_name)
        return found

    for section in sections:
        if section.agency_id is not None:
            agency(section.agency_id)

    counts: Counter = Counter()
    unassigned = 0
    tasks: list[TaskSummary] = []
    for row in await conn.execute(_status_statement(conn, plan_id, period, detail, agency_id)):
        kind, key, state, number = row[:4]
        status, stale = STATUSES[state // 2], state % 2
        if kind == _OVERALL:
            counts[status] += number
        elif kind == _BY_AGENCY and key is None:
            unassigned += number
        elif kind == _BY_AGENCY:
            owner = agency(key)
            owner.counts[status] += number
            owner.without_update += number * stale
        else:
            tasks.append(_task_from_row(row[4:]))
    if detail == ALL:
        tasks = await _all_tasks(conn, plan_id, period)
    removed = {
        task_id: archived_at.astimezone(tz).date()
        for task_id, archived_at in await conn.execute(
            select(Task.id, Task.archived_at).where(Task.plan_id == plan_id, Task.archived_at.is_not(None))
        )
        if archived_at is not None
    }
    for task in tasks:
        task.removed_on = removed.get(task.id)
    section_by_id = {section.id: section for section in sections}
    tasks.sort(key=lambda task: (section_by_id[task.section_id].position, task.number))
    for task in tasks:
        task.status = derive_status(task, task.latest, today, end, tz=tz)
        section = section_by_id[task.section_id]
        section.tasks.append(task)
        leads = task.lead_ids or ([section.agency_id] if section.agency_id is not None else [])
        for key in leads:
            agency(key).lead_tasks.append(task)
        for key in task.coordinating_ids:
            agency(key).coordinating_tasks.append(task)

    for (key,) in await conn.execute(_reporting_agencies(plan_id, period)):
        agency(key).reported = True
    # What was reported under a name since merged or renamed counts for whoever carries it on now
    # (storage.registry moved its open tasks there); the update itself keeps the old name.
    reported = [key for key, found in agencies.items() if found.reported]
    if reported:
        carried = select(Agency.id, Agency.successor_id).where(
            Agency.id.in_(reported), Agency.successor_id.is_not(None)
        )
        for _key, successor_id in await conn.execute(carried):
            if successor_id in agencies:
                agencies[successor_id].reported = True
    focal_rows = await conn.execute(
        select(
            Member.agency_id,
            func.sum(case((Member.role == FOCAL, 1), else_=0)),
            func.sum(case((Member.reachable == false(), 1), else_=0)),
        )
        .where(Member.status == ACTIVE, Member.agency_id.is_not(None))
        .group_by(Member.agency_id)
    )
    for key, focal_points, unreachable_count in focal_rows:
        if key in agencies:
            agencies[key].focal_points = int(focal_points or 0)
            agencies[key].unreachable_members = int(unreachable_count or 0)
    unreachable_rows = await conn.execute(
        select(
            Member.id,
            Member.name,
            Member.role,
            Member.agency_id,
            Agency.name,
            Member.unreachable_reason,
            Member.unreachable_since,
        )
        .outerjoin(Agency, Agency.id == Member.agency_id)
        .where(Member.status == ACTIVE, Member.reachable == false())
        .order_by(Member.agency_id, Member.name)
    )

    groups = await group_progress(session, plan_id, _in_period(period))
    for group in groups:
        # A group has reported when every one of its units has, each for itself.
        if group.id in agencies:
            agencies[group.id].reported = group.reported == group.total

    owners = dict.fromkeys(section.agency_id for section in sections if section.agency_id is not None)
    ordered = [agencies[key] for key in owners]
    ordered += sorted((a for key, a in agencies.items() if key not in owners), key=lambda a: a.name)
    return Summary(
        plan=PlanInfo(
            id=plan.id,
            number=plan.number,
            title=plan.title or "",
            issued=plan.issued,
            year=plan.year,
            deadlines=tuple(reporting_deadlines(plan, extra)),
        ),
        cycle=cycle,
        start=start,
        end=end,
        today=today,
        detail=detail,
        counts=counts,
        unassigned=unassigned,
        sections=sections,
        tasks=tasks,
        agencies=ordered,
        unreachable=[MemberInfo(*row) for row in unreachable_rows if row[3] is None or row[3] in agencies],
        groups=groups,
    )


# Kinds of row the status statement returns.
_OVERALL = 0
_BY_AGENCY = 1
_DETAIL = 2


def _latest_update_id(period: _Period):
    """A scalar subquery correlated to `task`: the id of its latest update as of the period's end."""
    return _latest(period, lambda p: p.id)


def _latest(period: _Period, value):
    """A scalar subquery correlated to `task`: `value(p)` of its latest update `p`, or NULL.

    One seek per task into an index kept in the same order. In cycle mode the index
    ix_progress_update_task_cycle (task_id, cycle, id, status, created_at) also holds every column
    the status rules read, so the seek never touches the table; in range mode it is
    ix_progress_update_task_created (task_id, created_at).
    """
    p = aliased(ProgressUpdate)
    if period.cycle is not None:
        pick = select(value(p)).where(p.task_id == Task.id, p.cycle <= period.cycle)
        pick = pick.order_by(p.cycle.desc(), p.id.desc())
    else:
        pick = select(value(p)).where(p.task_id == Task.id, p.created_at < period.ends_before)
        pick = pick.order_by(p.created_at.desc(), p.id.desc())
    return pick.limit(1).correlate(Task).scalar_subquery()


def _in_period(period: _Period, pu=ProgressUpdate):
    if period.cycle is not None:
        return pu.cycle == period.cycle
    return and_(pu.created_at >= period.starts_at, pu.created_at < period.ends_before)


def _local_day(conn: AsyncConnection, moment, period: _Period):
    """SQL for the local calendar date of a UTC timestamp column."""
    tz = period.tz
    if conn.dialect.name == "postgresql" and isinstance(tz, zoneinfo.ZoneInfo):
        return cast(func.timezone(tz.key, moment), Date)
    # SQLite keeps naive UTC text and knows no time zones: shift by the zone's offset at the end of
    # the period. Exact for zones without daylight saving time (Asia/Ho_Chi_Minh has had none
    # since 1975).
    offset = int(dt.datetime.combine(period.end, dt.time(12), tz).utcoffset().total_seconds())
    if conn.dialect.name == "postgresql":
        return cast(moment + literal(dt.timedelta(seconds=offset)), Date)
    return func.date(moment, f"{offset:+d} seconds")


def _state(conn: AsyncConnection, period: _Period):
    """`derive_status` as SQL, correlated to `task`, encoded with the period flag in one integer:
    2 × (the status's rank in STATUSES) + (1 when the task was not updated in the period)."""
    rank = {status: literal(STATUS_RANK[status] * 2, Integer) for status in STATUSES}
    due = func.coalesce(Task.end_on, literal(period.end, Date))

    def reported(p):
        status = case(
            (
                and_(p.status == REPORTED_DONE, _local_day(conn, p.created_at, period) <= due),
                rank[DONE_ON_TIME],
            ),
            (p.status == REPORTED_DONE, rank[DONE_LATE]),
            (p.status == REPORTED_BLOCKED, rank[BLOCKED]),
            (due < literal(period.as_of, Date), rank[OVERDUE]),
            (p.status == REPORTED_IN_PROGRESS, rank[IN_PROGRESS]),
            else_=rank[NOT_DUE],
        )
        return status + case((_in_period(period, p), 0), else_=1)

    nothing_reported = case((due < literal(period.as_of, Date), rank[OVERDUE]), else_=rank[NOT_DUE]) + 1
    return func.coalesce(_latest(period, reported), nothing_reported)


_TASK_COLUMNS = (
    Task.id,
    Task.section_id,
    Task.number,
    Task.code,
    Task.content,
    Task.timeframe_text,
    Task.start_on,
    Task.end_on,
    Task.lead_text,
    Task.coordinating_text,
    Task.responsible,
)
_UPDATE_COLUMNS = (
    ProgressUpdate.id,
    ProgressUpdate.agency_id,
    ProgressUpdate.member_id,
    Member.name,
    ProgressUpdate.status,
    ProgressUpdate.percent,
    ProgressUpdate.note,
    ProgressUpdate.evidence,
    ProgressUpdate.cycle,
    ProgressUpdate.created_at,
    ProgressUpdate.edited_at,
)


def _agency_ids(role: str):
    """The task's linked agencies in one role, as "3,17" (correlated to `task`)."""
    return (
        select(func.aggregate_strings(cast(TaskAgency.agency_id, String), ","))
        .where(TaskAgency.task_id == Task.id, TaskAgency.role == role)
        .correlate(Task)
        .scalar_subquery()
    )


def _detail_columns(period: _Period):
    """A detailed task row: the task, its lead and coordinating agency ids, its latest update."""
    return (
        *_TASK_COLUMNS,
        _agency_ids(LEAD),
        _agency_ids(COORDINATING),
        *_UPDATE_COLUMNS,
        case((_in_period(period), 1), else_=0),
    )


def _task_from_row(row) -> TaskSummary:
    task = TaskSummary(*row[:11])
    task.lead_ids = [int(x) for x in row[11].split(",")] if row[11] else []
    task.coordinating_ids = [int(x) for x in row[12].split(",")] if row[12] else []
    if row[13] is not None:
        task.latest = UpdateInfo(*row[13:24])
        task.updated_in_period = bool(row[24])
    return task


def _status_statement(
    conn: AsyncConnection, plan_id: int, period: _Period, detail: str, agency_id: int | None
):
    """One statement, one pass over the plan's tasks: counts overall, counts per lead agency, and
    (for ATTENTION) the detailed rows of the tasks that need it. Rows begin (kind, agency or task
    id, state as `_state` encodes it, tasks); detail rows carry `_detail_columns` after that."""
    pu = ProgressUpdate
    per_task = (
        select(
            Task.id.label("task_id"), Task.section_id.label("section_id"), _state(conn, period).label("state")
        )
        .where(Task.plan_id == plan_id, _existed(period))
        .cte("task_state")
    )
    lead = aliased(TaskAgency)
    lead_agency = func.coalesce(lead.agency_id, Section.agency_id)
    detail_columns = _detail_columns(period) if detail == ATTENTION else ()
    # Count rows leave the detail columns empty (typed, so that PostgreSQL can unite the parts).
    padding = [cast(null(), column.type) for column in detail_columns]
    overall = select(
        literal(_OVERALL, Integer), cast(null(), Integer), per_task.c.state, func.count(), *padding
    ).group_by(per_task.c.state)
    by_agency = (
        select(literal(_BY_AGENCY, Integer), lead_agency, per_task.c.state, func.count(), *padding)
        .select_from(per_task)
        .join(Section, Section.id == per_task.c.section_id)
        .outerjoin(lead, and_(lead.task_id == per_task.c.task_id, lead.role == LEAD))
        .group_by(lead_agency, per_task.c.state)
    )
    if detail == ALL:
        return union_all(overall, by_agency)
    attention_states = [STATUS_RANK[status] * 2 + stale for status in ATTENTION_STATUSES for stale in (0, 1)]
    wanted = per_task.c.state.in_(attention_states)
    if agency_id is not None:
        led = (
            select(TaskAgency.task_id)
            .where(TaskAgency.agency_id == agency_id, TaskAgency.role == LEAD)
            .union(
                select(Task.id)
                .join(Section, Section.id == Task.section_id)
                .where(Section.agency_id == agency_id, Task.plan_id == plan_id)
            )
        )
        wanted = or_(wanted, per_task.c.task_id.in_(led))
    details = (
        select(
            literal(_DETAIL, Integer),
            per_task.c.task_id,
            per_task.c.state,
            cast(null(), Integer),
            *detail_columns,
        )
        .select_from(per_task)
        .join(Task, Task.id == per_task.c.task_id)
        .outerjoin(pu, pu.id == _latest_update_id(period))
        .outerjoin(Member, Member.id == pu.member_id)
        .where(wanted)
    )
    # The detail part comes first so that the result's column types are those of real columns.
    return union_all(details, overall, by_agency)


async def _all_tasks(conn: AsyncConnection, plan_id: int, period: _Period) -> list[TaskSummary]:
    """Every task of the plan with its agency links and latest update (for exports)."""
    pu = ProgressUpdate
    statement = (
        select(*_detail_columns(period))
        .select_from(Task)
        .outerjoin(pu, pu.id == _latest_update_id(period))
        .outerjoin(Member, Member.id == pu.member_id)
        .where(Task.plan_id == plan_id, _existed(period))
    )
    return [_task_from_row(row) for row in await conn.execute(statement)]


def _existed(period: _Period):
    """The task was part of the plan during the period: never archived, or archived after the
    period began (a revision removes a task from then on, not from the reports before it)."""
    return or_(Task.archived_at.is_(None), Task.archived_at >= period.starts_at)


def _reporting_agencies(plan_id: int, period: _Period):
    """Ids of agencies that recorded an update on this plan in the period: one probe per agency,
    through ix_progress_update_cycle_agency or ix_progress_update_agency_created."""
    pu = ProgressUpdate
    probe = (
        select(pu.id)
        .join(Task, Task.id == pu.task_id)
        .where(pu.agency_id == Agency.id, _in_period(period), Task.plan_id == plan_id)
        .correlate(Agency)
    )
    return select(Agency.id).where(exists(probe))
