"""Plans in the database: finding them, reading them whole, and their reporting deadlines.

Functions take a session and never commit; the caller's unit of work does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import Plan, Section, Task
from storage.models.plan import COORDINATING, LEAD
from storage.text import fold


class AmbiguousPlan(LookupError):
    """A short plan number ("45") matches several plans; the caller must say which."""

    def __init__(self, number: str, candidates: list[str]):
        self.number = number
        self.candidates = candidates
        super().__init__(f"{number} matches several plans: {', '.join(candidates)}")


def _whole_plan():
    # Sections, tasks, task links and their agencies in a fixed number of queries: async sessions
    # cannot lazy-load, and callers read the whole tree.
    return select(Plan).options(selectinload(Plan.sections).selectinload(Section.tasks))


async def get_plan(session: AsyncSession, number: str | None = None) -> Plan | None:
    """A plan with its sections, tasks and agency links loaded.

    `number` may be the full number ("87/KH-UBND"), spelt loosely ("87/kh-ubnd") or only its
    digits ("87"); without it, the plan imported last. Raises AmbiguousPlan when the digits match
    several plans.
    """
    if number is None:
        return await session.scalar(_whole_plan().order_by(Plan.imported_at.desc(), Plan.id.desc()).limit(1))
    number = number.strip()
    plan = await session.scalar(_whole_plan().where(Plan.number == number))
    if plan is not None:
        return plan
    rows = (await session.execute(select(Plan.id, Plan.number))).all()
    wanted = fold(number)
    matches = [pid for pid, n in rows if fold(n) == wanted]
    if not matches:
        matches = [pid for pid, n in rows if fold(n).split(" ")[0] == wanted]
    if len(matches) > 1:
        raise AmbiguousPlan(number, sorted(n for pid, n in rows if pid in matches))
    if not matches:
        return None
    return await session.scalar(_whole_plan().where(Plan.id == matches[0]))


@dataclass(frozen=True)
class PlanListing:
    id: int
    number: str
    issued: dt.date | None
    title: str
    year: int
    sections: int
    tasks: int
    imported_at: dt.datetime


async def list_plans(session: AsyncSession) -> list[PlanListing]:
    sections = select(Section.plan_id, func.count(Section.id).label("n")).group_by(Section.plan_id).subquery()
    tasks = select(Task.plan_id, func.count(Task.id).label("n")).group_by(Task.plan_id).subquery()
    query = (
        select(Plan, func.coalesce(sections.c.n, 0), func.coalesce(tasks.c.n, 0))
        .outerjoin(sections, sections.c.plan_id == Plan.id)
        .outerjoin(tasks, tasks.c.plan_id == Plan.id)
        .order_by(Plan.year.desc(), Plan.number)
    )
    return [
        PlanListing(p.id, p.number, p.issued, p.title, p.year, n_sections, n_tasks, p.imported_at)
        for p, n_sections, n_tasks in (await session.execute(query)).all()
    ]


def extra_deadline_dates(year: int, extra: Iterable[str | dt.date]) -> list[dt.date]:
    """Configured extra deadlines ("MM-DD", as in `[plan] extra_reporting_deadlines`) in `year`."""
    days = []
    for value in extra:
        if isinstance(value, dt.date):
            days.append(value)
        else:
            month, day = (int(part) for part in value.split("-"))
            days.append(dt.date(year, month, day))
    return days


def reporting_deadlines(plan: Plan, extra: Iterable[str | dt.date] = ()) -> list[dt.date]:
    """The deadlines the plan names plus the configured extra ones, in order, without repeats.

    Call it with `config.plan.extra_reporting_deadlines` wherever deadlines are read, so that a
    deadline added by configuration counts everywhere the plan's own ones do.
    """
    return sorted({*plan.deadline_dates, *extra_deadline_dates(plan.year, extra)})


def lead_agencies(task: Task) -> list:
    return [link.agency for link in task.links if link.role == LEAD]


def coordinating_agencies(task: Task) -> list:
    return [link.agency for link in task.links if link.role == COORDINATING]


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def plan_document(plan: Plan, extra_deadlines: Iterable[str | dt.date] = ()) -> dict:
    """The plan as plain data, the shape `nhacviec plan show --json` prints."""
    return {
        "number": plan.number,
        "issued": _iso(plan.issued),
        "title": plan.title,
        "year": plan.year,
        "reporting_deadlines": [d.isoformat() for d in reporting_deadlines(plan, extra_deadlines)],
        "sections": [
            {
                "numeral": section.numeral,
                "agency": section.agency.name if section.agency else section.heading,
                "tasks": [
                    {
                        "number": task.number,
                        "content": task.content,
                        "timeframe": {
                            "text": task.timeframe_text,
                            "start": _iso(task.start_on),
                            "end": _iso(task.end_on),
                        },
                        "lead": [agency.name for agency in lead_agencies(task)],
                        "coordinating": [agency.name for agency in coordinating_agencies(task)],
                        "responsible": task.responsible or None,
                    }
                    for task in sorted(section.tasks, key=lambda t: t.number)
                ],
            }
            for section in sorted(plan.sections, key=lambda s: s.position)
        ],
    }
