"""Which tasks each agency answers for, and which plan is the current one.

An agency answers for the tasks listed under its section of the appendix ("I. SỞ THÔNG TIN VÀ
TRUYỀN THÔNG" lists what that department does) and for the tasks it leads elsewhere; a task whose
lead cell names no agency is led by its section's agency. Both halves matter: a row such as
"Phối hợp xây dựng hệ thống dữ liệu …" under Sở Ngoại vụ names Sở TTTT as lead, and either of them may
report on it. The lead half is the rule the summary uses to decide who is expected to report
(storage.summary), so whatever a summary expects from an agency, that agency's focal point can update.
Coordinating agencies contribute through the lead and are not asked to report on the task.

An agency's tasks are numbered 1..N: its own section first, in the plan's TT order, then the tasks it
leads in other sections in plan order. With one section per agency the first numbers are exactly the
plan's TT column, so "/capnhat 3" means what the printed plan calls task 3 of that section.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import bindparam, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.people import LatestInCycle
from storage.models.plan import (
    COORDINATING,
    LEAD,
    Plan,
    Section,
    Task,
    TaskAgency,
    visible,
)
from storage.plans import lifecycle
from storage.registry import expand, members_of_groups

_T = TypeVar("_T", bound=Hashable)


async def current_plan(session: AsyncSession) -> Plan | None:
    """The most recent plan: the most recent year, the latest imported within it (whatever its
    status; which plans are followed is `storage.plans.lifecycle`'s to say, see `all_plans`)."""
    return (await session.execute(_CURRENT_PLAN)).scalar_one_or_none()


async def all_plans(session: AsyncSession) -> list[Plan]:
    """Every plan row (a department follows a dozen, keeps them for years), most recent first."""
    return list((await session.scalars(_ALL_PLANS)).all())


async def plans_maybe_active(session: AsyncSession, *, today: dt.date, grace_days: int) -> list[Plan]:
    """The plans that may be active `today` (every active one among them; `lifecycle.plan_status`
    says which), most recent first: what a chat message reads, where `all_plans` would read every
    plan the department ever followed, each costing the message as much again."""
    return list((await session.scalars(_MAYBE_ACTIVE, lifecycle.active_on(today, grace_days))).all())


# Built once: every message reads the plans.
_ALL_PLANS = select(Plan).where(visible()).order_by(Plan.year.desc(), Plan.imported_at.desc(), Plan.id.desc())
_CURRENT_PLAN = _ALL_PLANS.limit(1)
_MAYBE_ACTIVE = _ALL_PLANS.where(lifecycle.may_be_active())


def leads_of(task: Task, section: Section) -> list[int]:
    leads = [link.agency_id for link in task.links if link.role == LEAD]
    return leads or ([section.agency_id] if section.agency_id is not None else [])


async def _plan_tasks(session: AsyncSession, plan_id: int) -> list[tuple[Task, Section]]:
    stmt = (
        select(Task, Section)
        .join(Section, Task.section_id == Section.id)
        .where(Task.plan_id == plan_id, Task.archived_at.is_(None))
        .order_by(Section.position, Task.number)
    )
    return [(task, section) for task, section in (await session.execute(stmt)).unique().all()]


def _by_agency(
    rows: Iterable[tuple[_T, int | None, list[int]]], groups: dict[int, list[int]] | None = None
) -> dict[int, list[_T]]:
    """(task, its section's agency, its lead agencies) in plan order → each agency's tasks: its own
    section first, then what it leads elsewhere. The one place the numbering rule lives.

    A group with members (storage.registry) is not one agency here: each member answers for the
    group's tasks as its own, and is listed, reminded and counted for them itself."""
    groups = groups or {}
    own: dict[int, list[_T]] = defaultdict(list)
    led: dict[int, list[_T]] = defaultdict(list)
    for task, section_agency_id, leads in rows:
        owners = expand([section_agency_id], groups) if section_agency_id is not None else []
        for owner in owners:
            own[owner].append(task)
        for agency_id in expand(
            leads or ([section_agency_id] if section_agency_id is not None else []), groups
        ):
            if agency_id not in owners:
                led[agency_id].append(task)
    return {agency_id: own.get(agency_id, []) + led.get(agency_id, []) for agency_id in {*own, *led}}


async def tasks_by_agency(session: AsyncSession, plan_id: int) -> dict[int, list[Task]]:
    """Every responsible agency with its tasks in plan order."""
    rows = await _plan_tasks(session, plan_id)
    return _by_agency(
        (
            (task, section.agency_id, [link.agency_id for link in task.links if link.role == LEAD])
            for task, section in rows
        ),
        await members_of_groups(session),
    )


async def agency_tasks(session: AsyncSession, plan_id: int, agency_id: int) -> list[Task]:
    """The tasks `agency_id` reports on, in plan order; position i (from 1) is the task's number."""
    return (await tasks_by_agency(session, plan_id)).get(agency_id, [])


@dataclass(frozen=True, slots=True)
class AssignedTask:
    """A task as the chat needs it to list, pick and report on; plain values, so that it can be kept
    between units of work (see `assigned_tasks`)."""

    id: int
    plan_id: int
    number: int
    code: str
    content: str
    timeframe_text: str
    start_on: dt.date | None
    end_on: dt.date | None
    # What judging the task needs besides its updates (storage.summary.task_standings): kept with
    # the task, so that a task list does not read them again on every message.
    section_agency_id: int | None
    lead_ids: tuple[int, ...]


@dataclass(frozen=True)
class Assignments:
    """A plan's tasks by agency (numbered as in `agency_tasks`) and by id."""

    by_agency: dict[int, tuple[AssignedTask, ...]]
    by_id: dict[int, AssignedTask]


async def assigned_tasks(session: AsyncSession, plan_id: int) -> Assignments:
    """The same assignment as `tasks_by_agency`, read as plain rows in two statements.

    Loading Task objects costs a statement per relationship (links, their agencies, the agencies'
    aliases) and builds ORM state for every row; the chat asks for an agency's tasks on most
    messages, so it reads only the columns it shows, and can keep the result while the plan is
    unchanged."""
    task_rows = (
        await session.execute(
            select(
                Task.id,
                Task.plan_id,
                Task.number,
                Task.code,
                Task.content,
                Task.timeframe_text,
                Task.start_on,
                Task.end_on,
                Section.agency_id,
            )
            .join(Section, Task.section_id == Section.id)
            .where(Task.plan_id == plan_id, Task.archived_at.is_(None))
            .order_by(Section.position, Task.number)
        )
    ).all()
    leads: dict[int, list[int]] = defaultdict(list)
    link_rows = await session.execute(
        select(TaskAgency.task_id, TaskAgency.agency_id)
        .join(Task, TaskAgency.task_id == Task.id)
        .where(Task.plan_id == plan_id, Task.archived_at.is_(None), TaskAgency.role == LEAD)
        .order_by(TaskAgency.task_id, TaskAgency.position, TaskAgency.id)
    )
    for task_id, agency_id in link_rows:
        leads[task_id].append(agency_id)
    tasks = [AssignedTask(*row, tuple(leads.get(row[0], ()))) for row in task_rows]
    grouped = _by_agency(
        ((task, task.section_agency_id, list(task.lead_ids)) for task in tasks),
        await members_of_groups(session),
    )
    return Assignments(
        by_agency={agency_id: tuple(items) for agency_id, items in grouped.items()},
        by_id={task.id: task for task in tasks},
    )


async def plans_with_a_part(session: AsyncSession, agency_id: int | None) -> set[int]:
    """The ids of the plans where `agency_id` may have a part: a section of its own, a task it leads
    or helps with, or a word it recorded; archived sections and tasks count too.

    Meant to narrow a list of plans down to one agency's before paging it: it holds every plan
    whose summary lists the agency and every plan it helps with (`helps_with_plan`), and the page
    still asks those for each plan it shows. Asking them for every plan instead would cost a
    summary per plan a department ever kept."""
    if agency_id is None:
        return set()
    found = await session.scalars(_PLANS_WITH_A_PART, {"agency_id": agency_id})
    return set(found)


_PLANS_WITH_A_PART = union(
    select(Section.plan_id).where(Section.agency_id == bindparam("agency_id")),
    select(Task.plan_id)
    .join(TaskAgency, TaskAgency.task_id == Task.id)
    .where(TaskAgency.agency_id == bindparam("agency_id")),
    select(Task.plan_id)
    .join(LatestInCycle, LatestInCycle.task_id == Task.id)
    .where(LatestInCycle.agency_id == bindparam("agency_id")),
)


async def helps_with_plan(session: AsyncSession, plan_id: int, agency_id: int) -> bool:
    """Whether the agency is named a coordinating agency of a task still in the plan (it may
    answer for none of them)."""
    linked = (
        select(TaskAgency.id)
        .join(Task, Task.id == TaskAgency.task_id)
        .where(
            TaskAgency.agency_id == agency_id,
            TaskAgency.role == COORDINATING,
            Task.plan_id == plan_id,
            Task.archived_at.is_(None),
        )
        .limit(1)
    )
    return await session.scalar(linked) is not None
