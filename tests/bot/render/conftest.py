"""A summary of the sample plan with a few updates, as every renderer test reads it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from storage.models.plan import LEAD, Task, TaskAgency
from storage.plans.importer import import_plan_file
from storage.summary import ALL, Summary, build_summary
from tests.conftest import SAMPLE_PLAN
from tests.factories import make_member, make_update

JUNE_2021 = dt.date(2021, 6, 15)
TODAY = dt.date(2021, 6, 10)
HANOI = dt.timezone(dt.timedelta(hours=7))


@dataclass
class SampleReport:
    summary: Summary
    plan_id: int
    tasks: list[Task]  # in plan order, as the appendix lists them


def at(day: dt.date, hour: int = 3) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


async def load_sample(db, *, detail: str = ALL) -> SampleReport:
    """The sample plan with: I.1 done on time, I.2 blocked, I.3 in progress (with a percentage)."""
    async with db.transaction() as session:
        report = await import_plan_file(session, SAMPLE_PLAN)
        tasks = list((await session.scalars(select(Task).where(Task.plan_id == report.plan_id))).all())
        by_code = {task.code: task for task in tasks}
        leads = {
            link.task_id: link.agency
            for link in (await session.scalars(select(TaskAgency).where(TaskAgency.role == LEAD))).all()
        }
        first = by_code["I.1"]
        lan = await make_member(session, "Nguyễn Thị Lan", agency=leads[first.id])
        await make_update(
            session,
            first,
            agency=leads[first.id],
            cycle=JUNE_2021,
            at=at(dt.date(2021, 6, 2)),
            status="done",
            member=lan,
            note="Đã phát hành 2.000 tờ gấp",
        )
        second = by_code["I.2"]
        await make_update(
            session,
            second,
            agency=leads[second.id],
            cycle=JUNE_2021,
            at=at(dt.date(2021, 6, 3)),
            status="blocked",
            member=lan,
            note="Chưa được cấp kinh phí",
        )
        third = by_code["I.3"]
        update = await make_update(
            session,
            third,
            agency=leads[third.id],
            cycle=JUNE_2021,
            at=at(dt.date(2021, 6, 4)),
            status="in_progress",
            member=lan,
            note="Đang biên tập",
        )
        update.percent = 60
        plan_id = report.plan_id
    async with db.snapshot() as session:
        summary = await build_summary(session, plan_id, cycle=JUNE_2021, today=TODAY, detail=detail)
    ordered = [by_code[task.code] for task in summary.tasks] if detail == ALL else tasks
    return SampleReport(summary=summary, plan_id=plan_id, tasks=ordered)


@pytest.fixture
async def sample(sqlite_db) -> SampleReport:
    return await load_sample(sqlite_db)
