"""Migration 0020 (each task's newest word of anyone, `task_latest`) upgrades a database with plans and
updates in it: the backfill takes the latest cycle's newest word, later updates and edits keep it,
and the overview (which reads it) counts as the detailed summary judges, for the current cycle and
for an earlier one, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import importlib

from sqlalchemy import select, text

from storage.migrate import current_revision, upgrade
from storage.models import ProgressUpdate, TaskLatest
from storage.people import add_update, revise_update
from storage.summary import ALL, ATTENTION, build_summary
from tests.storage.test_migration_0019 import WHEN, plan_with_a_late_report

MIGRATION = importlib.import_module("storage.migrations.versions.0020_task_latest")
JUNE, NOVEMBER = dt.date(2026, 6, 20), dt.date(2026, 11, 20)


async def _kept(db) -> dict[int, tuple]:
    async with db.snapshot() as session:
        rows = await session.execute(
            select(TaskLatest.task_id, TaskLatest.cycle, TaskLatest.update_id, TaskLatest.status)
        )
        return {task: (cycle, update, status) for task, cycle, update, status in rows}


async def _both(db, cycle: dt.date):
    async with db.snapshot() as session:
        judged = await build_summary(session, 1, cycle=cycle, today=dt.date(2026, 10, 5), detail=ALL)
        counted = await build_summary(session, 1, cycle=cycle, today=dt.date(2026, 10, 5), detail=ATTENTION)
    return judged, counted


def _figures(summary) -> tuple:
    return dict(summary.reported_counts), dict(summary.timing_counts), summary.progress_sum


async def test_upgrading_to_0020_keeps_each_tasks_newest_word_and_the_overview_counts(unmigrated_db):
    db = unmigrated_db
    await upgrade(db, MIGRATION.down_revision)
    async with db.engine.begin() as conn:
        await plan_with_a_late_report(conn)
        if conn.dialect.name == "postgresql":  # the rows came with their ids: move the sequence on
            await conn.execute(text("SELECT setval(pg_get_serial_sequence('progress_update', 'id'), 4)"))

    await upgrade(db, MIGRATION.revision)

    assert await current_revision(db) == MIGRATION.revision
    # I.3's late June report (update 4) is newer but of an earlier cycle: November's word stays.
    assert await _kept(db) == {
        1: (JUNE, 1, "done"),
        2: (NOVEMBER, 2, "in_progress"),
        3: (NOVEMBER, 3, "in_progress"),
    }
    # The overview as the code reads it now: at the newest schema (0021 keeps each task's lead).
    await upgrade(db)
    judged, counted = await _both(db, NOVEMBER)
    assert _figures(counted) == _figures(judged)
    assert dict(counted.reported_counts) == {"done": 1, "in_progress": 2}
    # June, an earlier cycle: I.3's word is sought among its kept rows (the late "blocked").
    judged, counted = await _both(db, JUNE)
    assert _figures(counted) == _figures(judged)
    assert counted.reported_counts["blocked"] == 1
    assert [task.code for task in counted.tasks] == ["I.3"]

    # Written by the application after the upgrade: a new word and an edit move the kept row.
    async with db.transaction() as session:
        await add_update(
            session,
            task_id=1,
            agency_id=1,
            member_id=None,
            status="blocked",
            cycle=NOVEMBER,
            now=(WHEN + dt.timedelta(days=70)).replace(tzinfo=dt.UTC),
        )
        third = await session.get(ProgressUpdate, 3)
        await revise_update(
            session, third, status="done", percent=None, note="xong", now=WHEN.replace(tzinfo=dt.UTC)
        )

    kept = await _kept(db)
    assert kept[1][0] == NOVEMBER and kept[1][2] == "blocked"
    assert kept[3] == (NOVEMBER, 3, "done")
    judged, counted = await _both(db, NOVEMBER)
    assert _figures(counted) == _figures(judged)
    assert dict(counted.reported_counts) == {"blocked": 1, "in_progress": 1, "done": 1}
