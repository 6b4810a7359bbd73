"""Who is expected to report for a deadline, and who already has.

An agency has reported for a deadline when it has a progress update that settles the deadline's
`Requirement`:
- a reporting deadline: an update counted for that cycle (`ProgressUpdate.cycle` is the deadline),
  or a late one — any update made after the deadline day (it counts towards the next cycle, but the
  agency did report, so the overdue reminders stop);
- a quarter end (a quarterly check-in): an update made since the quarter began;
- a task deadline: an update on that task made since the quarter of its deadline began.
The same rule decides what the planner writes, what the sender still sends, and what
`outbox.cancel_for_report` cancels, so the three never disagree.

Whether a task is done — nothing left to remind anyone of — is not decided here but by
`storage.progress_rules`, the rule every report uses: a co-led task is done when its leads said so
(all of them, or any, as `[report] co_lead_done` says), and a lead that said done is not reminded of
it while the others finish.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.calendar import Deadline, PlanFacts, PlanTask, local_instant, quarter_start
from storage.models.people import LatestInCycle
from storage.models.plan import DISSOLVED, LEAD, Agency, Plan, Section, Task, TaskAgency, visible
from storage.models.reminders import QUARTER, REPORT, TASK
from storage.plans import lifecycle
from storage.progress_rules import ALL_LEADS, judge, leads_of
from storage.registry import expand, members_of_groups
from storage.summary import DEFAULT_TZ, latest_updates_by_agency, word_of


@dataclass(frozen=True)
class Requirement:
    """What settles a deadline for an agency: an update (on `task_id`, when set) counted for `cycle`
    or made at or after `since` (UTC)."""

    cycle: dt.date | None = None
    task_id: int | None = None
    since: dt.datetime | None = None

    def for_task(self, task_id: int) -> Requirement:
        return Requirement(self.cycle, task_id, self.since)

    def settled_by(self, task_id: int, cycle: dt.date, created_at: dt.datetime) -> bool:
        if self.task_id is not None and task_id != self.task_id:
            return False
        return (self.cycle is not None and cycle == self.cycle) or (
            self.since is not None and created_at >= self.since
        )


def requirement_for(
    deadline_day: dt.date, deadline_kind: str, task_id: int | None, tz: dt.tzinfo
) -> Requirement:
    if deadline_kind == REPORT:
        day_after = local_instant(deadline_day + dt.timedelta(days=1), dt.time(0, 0), tz)
        return Requirement(cycle=deadline_day, since=day_after)
    since = local_instant(quarter_start(deadline_day), dt.time(0, 0), tz)
    if deadline_kind == QUARTER:
        return Requirement(since=since)
    if deadline_kind == TASK:
        return Requirement(task_id=task_id, since=since)
    raise ValueError(f"not a deadline kind: {deadline_kind!r}")


def deadline_requirement(deadline: Deadline, tz: dt.tzinfo) -> Requirement:
    return requirement_for(deadline.day, deadline.kind, deadline.task_id, tz)


@dataclass(frozen=True)
class _Update:
    task_id: int
    cycle: dt.date
    created_at: dt.datetime


class Reports:
    """The progress updates that bear on reminders, indexed by agency."""

    def __init__(self, rows: Iterable[tuple[int, int, dt.date, dt.datetime]] = ()):
        self._by_agency: dict[int, list[_Update]] = {}
        for agency_id, task_id, cycle, created_at in rows:
            self._by_agency.setdefault(agency_id, []).append(_Update(task_id, cycle, created_at))

    def add(self, agency_id: int, task_id: int, cycle: dt.date, created_at: dt.datetime) -> None:
        self._by_agency.setdefault(agency_id, []).append(_Update(task_id, cycle, created_at))

    def satisfied(self, agency_id: int, requirement: Requirement) -> bool:
        return any(
            requirement.settled_by(update.task_id, update.cycle, update.created_at)
            for update in self._by_agency.get(agency_id, ())
        )

    def tasks_lacking_update(
        self, agency_id: int, tasks: Iterable[PlanTask], requirement: Requirement
    ) -> list[PlanTask]:
        """Of `tasks`, those not done that have no update settling `requirement` for them."""
        return [
            task
            for task in tasks
            if not task.done
            and agency_id not in task.done_by
            and not self.satisfied(agency_id, requirement.for_task(task.id))
        ]


async def load_reports(
    session: AsyncSession, *, plan_ids: Iterable[int], agency_ids: Iterable[int] | None = None
) -> Reports:
    # A requirement asks for an update counted for a cycle or made since an instant, so of each
    # agency's updates on a task in a cycle only the newest can settle anything: `progress_latest`
    # keeps exactly that one (updates are stamped by the clock as they are stored, so the newest is
    # also the last made), and a plan with a million updates hands over one row per agency, task and
    # cycle. A tick used to read every update, most of its time at that size.
    kept = LatestInCycle
    stmt = (
        select(kept.agency_id, kept.task_id, kept.cycle, kept.created_at)
        .join(Task, Task.id == kept.task_id)
        .where(Task.plan_id.in_(list(plan_ids)))
    )
    if agency_ids is not None:
        stmt = stmt.where(kept.agency_id.in_(list(agency_ids)))
    connection = await session.connection()
    return Reports(await connection.execute(stmt))


async def load_plan_facts(
    session: AsyncSession,
    *,
    plan_ids: Iterable[int] | None = None,
    number: str | None = None,
    tz: dt.tzinfo = DEFAULT_TZ,
    co_lead_rule: str = ALL_LEADS,
    active_on: dt.date | None = None,
    grace_days: int = lifecycle.DEFAULT_GRACE_DAYS,
) -> list[PlanFacts]:
    """Plans with their tasks, lead agencies and whether each task is done (`storage.progress_rules`).

    `active_on`: only the plans that may still be active that day (`lifecycle.may_be_active`, with
    `grace_days`), and none closed: the years of plans a department keeps are left unread."""
    stmt = (
        select(
            Plan.id,
            Plan.number,
            Plan.year,
            Plan.reporting_deadlines,
            Plan.end_year,
            Plan.last_deadline,
            Plan.lifecycle,
            Plan.lifecycle_changed_at,
        )
        .where(visible())
        .order_by(Plan.id)
    )
    if plan_ids is not None:
        stmt = stmt.where(Plan.id.in_(list(plan_ids)))
    if number is not None:
        stmt = stmt.where(Plan.number == number)
    params = {}
    if active_on is not None:
        stmt = stmt.where(lifecycle.may_be_active())
        params = lifecycle.active_on(active_on, grace_days)
    plans = (await session.execute(stmt, params)).all()
    if not plans:
        return []
    ids = [row.id for row in plans]
    task_rows = (
        await session.execute(
            select(
                Task.id,
                Task.plan_id,
                Task.code,
                Task.content,
                Task.start_on,
                Task.end_on,
                Task.section_id,
                Task.number,
                Section.agency_id.label("section_agency_id"),
            )
            .join(Section, Section.id == Task.section_id)
            .where(Task.plan_id.in_(ids), Task.archived_at.is_(None))
            .order_by(Task.plan_id, Task.section_id, Task.number)
        )
    ).all()
    leads: dict[int, list[int]] = {}
    for task_id, agency_id in (
        await session.execute(
            select(TaskAgency.task_id, TaskAgency.agency_id)
            .join(Task, Task.id == TaskAgency.task_id)
            .where(Task.plan_id.in_(ids), TaskAgency.role == LEAD)
            .order_by(TaskAgency.task_id, TaskAgency.position)
        )
    ).all():
        leads.setdefault(task_id, []).append(agency_id)
    # A task led by a group with members is each member's to report on (storage.registry).
    groups = await members_of_groups(session)
    # A dissolved agency has nobody left to remind (storage.registry.dissolve).
    gone = set(await session.scalars(select(Agency.id).where(Agency.status == DISSOLVED)))
    connection = await session.connection()
    updates: dict[int, list] = {}
    for plan_id in ids:
        updates.update(await latest_updates_by_agency(connection, plan_id))
    tasks_by_plan: dict[int, list[PlanTask]] = {}
    for row in task_rows:
        direct = leads_of(row.section_agency_id, leads.get(row.id, []))
        # A group's members each speak for themselves: its task is done when every one said so,
        # whatever the co-lead rule says of several distinct leads.
        task_leads = expand(direct, groups)
        rule = ALL_LEADS if any(lead in groups for lead in direct) else co_lead_rule
        words = [word_of(update, tz, by_cycle=False) for update in updates.get(row.id, ())]
        # Whether it is done does not depend on the day it is judged from.
        standing = judge(row.end_on, task_leads, words, dt.date.min, rule=rule)
        tasks_by_plan.setdefault(row.plan_id, []).append(
            PlanTask(
                id=row.id,
                code=row.code,
                content=row.content,
                end_on=row.end_on,
                start_on=row.start_on,
                lead_agency_ids=tuple(a for a in expand(leads.get(row.id, []), groups) if a not in gone),
                done=standing.done,
                done_by=standing.done_by,
            )
        )
    return [
        PlanFacts(
            id=row.id,
            number=row.number,
            year=row.year,
            reporting_deadlines=tuple(dt.date.fromisoformat(d) for d in row.reporting_deadlines or ()),
            tasks=tuple(tasks_by_plan.get(row.id, ())),
            end_year=row.end_year or row.year,
            last_deadline=row.last_deadline,
            lifecycle=row.lifecycle,
            lifecycle_changed_at=row.lifecycle_changed_at,
        )
        for row in plans
    ]


def missing_agencies(
    plan: PlanFacts, day: dt.date, deadline_kind: str, reports: Reports, tz: dt.tzinfo
) -> list[int]:
    """The agencies expected to report for the deadline(s) of this kind on `day` that have not."""
    if deadline_kind != TASK:
        requirement = requirement_for(day, deadline_kind, None, tz)
        return [a for a in plan.lead_agency_ids if not reports.satisfied(a, requirement)]
    missing: dict[int, None] = {}
    for task in plan.tasks:
        if task.end_on != day or task.done:
            continue
        requirement = requirement_for(day, TASK, task.id, tz)
        for agency_id in task.lead_agency_ids:
            if agency_id not in task.done_by and not reports.satisfied(agency_id, requirement):
                missing.setdefault(agency_id)
    return list(missing)
