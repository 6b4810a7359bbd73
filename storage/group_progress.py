"""How far each group's members have got: "2 of 3 units reported", who has not, and each unit's own
latest update on the group's tasks. A task led by a group with members is each member's task
(storage.registry); the summary shows the group through this, and the report lists its results per
member. Groups without members are not here: they report as one agency, as any other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Agency, ProgressUpdate, Section, Task, TaskAgency
from storage.models.plan import LEAD
from storage.registry import members_of_groups


@dataclass(slots=True)
class UnitUpdate:
    task_id: int
    status: str  # as reported
    percent: int | None
    note: str
    created_at: dt.datetime


@dataclass(slots=True)
class GroupUnit:
    agency_id: int
    name: str
    updates: dict[int, UnitUpdate] = field(default_factory=dict)  # task id → its latest in the period

    @property
    def reported(self) -> bool:
        return bool(self.updates)


@dataclass(slots=True)
class GroupProgress:
    id: int
    name: str
    task_ids: list[int]
    units: list[GroupUnit]

    @property
    def total(self) -> int:
        return len(self.units)

    @property
    def reported(self) -> int:
        return sum(1 for unit in self.units if unit.reported)

    @property
    def missing(self) -> list[GroupUnit]:
        return [unit for unit in self.units if not unit.reported]


async def group_progress(session: AsyncSession, plan_id: int, in_period) -> list[GroupProgress]:
    """The groups with members that lead tasks of the plan, each with its units' updates in the
    period (`in_period`: a condition on ProgressUpdate, as the summary defines its period)."""
    groups = await members_of_groups(session)
    if not groups:
        return []
    led: dict[int, list[int]] = {}
    rows = await session.execute(
        select(TaskAgency.agency_id, TaskAgency.task_id)
        .join(Task, Task.id == TaskAgency.task_id)
        .where(Task.plan_id == plan_id, TaskAgency.role == LEAD, TaskAgency.agency_id.in_(sorted(groups)))
        .order_by(Task.section_id, Task.number)
    )
    for group_id, task_id in rows:
        led.setdefault(group_id, []).append(task_id)
    # A section of a group lists the group's own tasks where their lead cell names nobody.
    unled = (
        select(Section.agency_id, Task.id)
        .join(Section, Section.id == Task.section_id)
        .where(
            Task.plan_id == plan_id,
            Section.agency_id.in_(sorted(groups)),
            ~select(TaskAgency.id).where(TaskAgency.task_id == Task.id, TaskAgency.role == LEAD).exists(),
        )
        .order_by(Task.number)
    )
    for group_id, task_id in await session.execute(unled):
        led.setdefault(group_id, []).append(task_id)
    if not led:
        return []
    unit_ids = sorted({unit for group_id in led for unit in groups[group_id]})
    names = dict(
        (await session.execute(select(Agency.id, Agency.name).where(Agency.id.in_([*unit_ids, *led])))).all()
    )
    task_ids = sorted({task_id for ids in led.values() for task_id in ids})
    latest: dict[tuple[int, int], UnitUpdate] = {}
    pu = ProgressUpdate
    for task_id, agency_id, status, percent, note, created_at in await session.execute(
        select(pu.task_id, pu.agency_id, pu.status, pu.percent, pu.note, pu.created_at)
        .where(pu.task_id.in_(task_ids), pu.agency_id.in_(unit_ids), in_period)
        .order_by(pu.created_at, pu.id)
    ):
        latest[(task_id, agency_id)] = UnitUpdate(task_id, status, percent, note or "", created_at)
    progress = []
    for group_id, ids in led.items():
        units = []
        for unit_id in groups[group_id]:
            unit = GroupUnit(unit_id, names.get(unit_id, f"#{unit_id}"))
            for task_id in ids:
                if (task_id, unit_id) in latest:
                    unit.updates[task_id] = latest[(task_id, unit_id)]
            units.append(unit)
        progress.append(GroupProgress(group_id, names.get(group_id, f"#{group_id}"), ids, units))
    progress.sort(key=lambda g: g.name)
    return progress
