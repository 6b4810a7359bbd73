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

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.plan import LEAD, Plan, Section, Task


async def current_plan(session: AsyncSession) -> Plan | None:
    """The plan being followed: the most recent year, the latest imported within it."""
    stmt = select(Plan).order_by(Plan.year.desc(), Plan.imported_at.desc(), Plan.id.desc()).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


def leads_of(task: Task, section: Section) -> list[int]:
    leads = [link.agency_id for link in task.links if link.role == LEAD]
    return leads or ([section.agency_id] if section.agency_id is not None else [])


async def _plan_tasks(session: AsyncSession, plan_id: int) -> list[tuple[Task, Section]]:
    stmt = (
        select(Task, Section)
        .join(Section, Task.section_id == Section.id)
        .where(Task.plan_id == plan_id)
        .order_by(Section.position, Task.number)
    )
    return [(task, section) for task, section in (await session.execute(stmt)).unique().all()]


async def tasks_by_agency(session: AsyncSession, plan_id: int) -> dict[int, list[Task]]:
    """Every responsible agency with its tasks in plan order."""
    rows = await _plan_tasks(session, plan_id)
    own: dict[int, list[Task]] = defaultdict(list)
    led: dict[int, list[Task]] = defaultdict(list)
    for task, section in rows:
        if section.agency_id is not None:
            own[section.agency_id].append(task)
        for agency_id in leads_of(task, section):
            if agency_id != section.agency_id:
                led[agency_id].append(task)
    return {agency_id: own.get(agency_id, []) + led.get(agency_id, []) for agency_id in {*own, *led}}


async def agency_tasks(session: AsyncSession, plan_id: int, agency_id: int) -> list[Task]:
    """The tasks `agency_id` reports on, in plan order; position i (from 1) is the task's number."""
    return (await tasks_by_agency(session, plan_id)).get(agency_id, [])
