"""A task dropped by a revision keeps its updates and shows in the reports of the cycles it was part
of, marked as removed; reports of later periods leave it out."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from storage.models import ProgressUpdate, Task
from storage.plans.importer import import_plan_file
from storage.summary import build_summary
from tests.conftest import SAMPLE_PLAN
from tests.storage.test_plan_import import revise

# The revision is imported on 1 July 2021 (local), in the cycle closing on 15 November.
REVISED_AT = dt.datetime(2021, 7, 1, 3, 0, tzinfo=dt.UTC)


async def _revised(db, tmp_path) -> int:
    async with db.transaction() as session:
        report = await import_plan_file(session, SAMPLE_PLAN)
        task = await session.scalar(select(Task).where(Task.code == "II.3"))
        session.add(
            ProgressUpdate(
                task_id=task.id,
                agency_id=task.links[0].agency_id,
                status="in_progress",
                note="Đã gửi dự thảo bộ tiêu chí",
                cycle=dt.date(2021, 6, 15),
                created_at=dt.datetime(2021, 6, 10, 3, 0, tzinfo=dt.UTC),
            )
        )
    revised = tmp_path / "sua-doi.txt"
    revised.write_text(revise(SAMPLE_PLAN.read_text(encoding="utf-8")), encoding="utf-8")
    async with db.transaction() as session:
        await import_plan_file(session, revised, now=REVISED_AT)
    return report.plan_id


def _removed(summary) -> dict[str, tuple]:
    return {
        t.code: (t.removed_on, t.latest.note if t.latest else None) for t in summary.tasks if t.removed_on
    }


async def test_the_cycle_a_removed_task_was_part_of_still_shows_it_with_its_update(db, tmp_path):
    plan_id = await _revised(db, tmp_path)
    async with db.snapshot() as session:
        summary = await build_summary(session, plan_id, cycle=dt.date(2021, 6, 15), today=dt.date(2021, 7, 2))
    expected = {"II.3": (dt.date(2021, 7, 1), "Đã gửi dự thảo bộ tiêu chí")}
    assert _removed(summary) == expected


async def test_a_period_after_the_removal_leaves_the_task_out(db, tmp_path):
    plan_id = await _revised(db, tmp_path)
    async with db.snapshot() as session:
        summary = await build_summary(
            session, plan_id, start=dt.date(2021, 7, 2), end=dt.date(2021, 9, 30), today=dt.date(2021, 10, 1)
        )
    assert _removed(summary) == {}
    assert "II.3" in {t.code for t in summary.tasks}  # the task now numbered II.3, a live one
    assert summary.total == 30


async def test_the_report_row_says_the_task_was_removed_from_the_plan(db, tmp_path):
    from bot.i18n import use_language
    from bot.render.report_rows import task_rows

    plan_id = await _revised(db, tmp_path)
    async with db.snapshot() as session:
        summary = await build_summary(session, plan_id, cycle=dt.date(2021, 6, 15), today=dt.date(2021, 7, 2))
    with use_language("vi"):
        rows = {(row.code, row.timing) for row in task_rows(summary, tz=dt.UTC) if "bỏ" in row.timing}
    assert rows == {("II.3", "Chưa đến hạn · đã bỏ khỏi kế hoạch (1/7/2021)")}
