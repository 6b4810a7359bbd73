"""The plans migration keeps what a database of the previous release holds: plans, their sections,
tasks and progress updates, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import importlib.util

import pytest
from sqlalchemy import select, text

from storage.db import Database
from storage.migrate import MIGRATIONS, current_revision, head_revision, upgrade
from storage.models import Plan, ProgressUpdate, Task
from storage.plans.lifecycle import ENDED, plan_status


def _previous_revision() -> str:
    path = next((MIGRATIONS / "versions").glob("*_plans.py"))
    spec = importlib.util.spec_from_file_location("plans_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.down_revision


@pytest.fixture
def old_db(unmigrated_db):
    """An empty database (SQLite, then PostgreSQL); each test brings it to the revision before the
    plans migration."""
    return unmigrated_db


async def _fill_old_schema(db: Database) -> None:
    now = dt.datetime(2020, 6, 1, 1, 0)
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO plan (id, number, issued, title, year, reporting_deadlines, imported_at) VALUES "
                "(1, '87/KH-UBND', :issued, 'Tổ chức các hoạt động thông tin đối ngoại năm 2020', 2020, "
                ":deadlines, :now)"
            ),
            {"issued": dt.date(2020, 4, 24), "deadlines": '["2020-06-20", "2020-11-20"]', "now": now},
        )
        await conn.execute(
            text(
                "INSERT INTO agency (id, name, key, created_at) VALUES (1, 'Sở Du lịch', 'so du lich', :now)"
            ),
            {"now": now},
        )
        await conn.execute(
            text(
                "INSERT INTO section (id, plan_id, numeral, position, heading, agency_id) "
                "VALUES (1, 1, 'IV', 0, 'SỞ DU LỊCH', 1)"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO task (id, plan_id, section_id, number, code, content, timeframe_text, start_on, "
                "end_on, lead_text, coordinating_text, responsible) VALUES "
                "(1, 1, 1, 3, 'IV.3', 'Quảng bá du lịch', 'Cả năm', :start, :end, '', '', '')"
            ),
            {"start": dt.date(2020, 1, 1), "end": dt.date(2020, 12, 31)},
        )
        await conn.execute(
            text(
                "INSERT INTO member (id, name, role, agency_id, status, language, reachable, created_at) "
                "VALUES (1, 'Chị Lan', 'focal', 1, 'active', 'vi', true, :now)"
            ),
            {"now": now},
        )
        await conn.execute(
            text(
                "INSERT INTO progress_update (id, task_id, agency_id, member_id, status, note, cycle, created_at) "
                "VALUES (1, 1, 1, 1, 'in_progress', 'Đã phát sóng 12 chương trình', :cycle, :now)"
            ),
            {"cycle": dt.date(2020, 6, 20), "now": now},
        )


async def test_upgrading_keeps_plans_tasks_and_updates_and_gives_each_plan_its_years(old_db):
    await upgrade(old_db, _previous_revision())
    await _fill_old_schema(old_db)

    await upgrade(old_db)

    assert await current_revision(old_db) == head_revision()
    async with old_db.snapshot() as session:
        plan = await session.scalar(select(Plan))
        task = await session.scalar(select(Task))
        update = await session.scalar(select(ProgressUpdate))
    expected = ("87/KH-UBND", 2020, 2020, 2020, dt.date(2020, 12, 31), "auto", "")
    assert (
        plan.number,
        plan.year,
        plan.start_year,
        plan.end_year,
        plan.last_deadline,
        plan.lifecycle,
        plan.issuer,
    ) == expected
    assert plan.deadline_dates == [dt.date(2020, 6, 20), dt.date(2020, 11, 20)]
    assert (task.code, task.archived_at) == ("IV.3", None)
    assert (update.task_id, update.note) == (1, "Đã phát sóng 12 chương trình")
    # Its last deadline passed years ago: the migrated plan has ended on its own.
    assert plan_status(plan, dt.date(2026, 12, 2), grace_days=30) == ENDED


async def test_after_upgrading_a_second_plan_with_the_same_number_and_another_year_can_be_stored(old_db):
    await upgrade(old_db, _previous_revision())
    await _fill_old_schema(old_db)
    await upgrade(old_db)

    async with old_db.transaction() as session:
        # The old rows were written with their ids, which PostgreSQL's sequence did not see.
        session.add(
            Plan(id=2, number="87/KH-UBND", title="Năm 2026", year=2026, start_year=2026, end_year=2026)
        )
    async with old_db.snapshot() as session:
        years = sorted((await session.scalars(select(Plan.year))).all())
    assert years == [2020, 2026]
