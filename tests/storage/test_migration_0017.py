"""Migration 0017 (each agency's newest update per task and cycle) fills the new table from the
updates of a database built at the revision before it, and the overview and the detailed summary
read the same from it, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import importlib

from sqlalchemy import text

from storage.migrate import current_revision, upgrade
from storage.summary import ALL, ATTENTION, build_summary
from tests.storage.old_rows import agencies_plan_and_section

MIGRATION = importlib.import_module("storage.migrations.versions.0017_progress_latest")
WHEN = dt.datetime(2026, 6, 10, 1, 0)


async def test_upgrading_to_0017_fills_the_newest_update_of_each_agency_task_and_cycle(unmigrated_db):
    await upgrade(unmigrated_db, MIGRATION.down_revision)
    async with unmigrated_db.engine.begin() as conn:
        await agencies_plan_and_section(conn, WHEN)
        for key, end_on in ((1, "2026-06-30"), (2, None)):
            await conn.execute(
                text(
                    "INSERT INTO task (id, plan_id, section_id, number, code, content, timeframe_text, end_on,"
                    " lead_text, coordinating_text, responsible)"
                    " VALUES (:id, 1, 1, :id, :code, 'Tuyên truyền', 'Quý II', :end_on, '', '', '')"
                ),
                {"id": key, "code": f"I.{key}", "end_on": dt.date.fromisoformat(end_on) if end_on else None},
            )
        rows = [
            (1, 1, 1, "in_progress", 40, "2026-06-20", WHEN),
            (2, 1, 1, "blocked", None, "2026-06-20", WHEN + dt.timedelta(days=1)),
            (3, 1, 2, "done", None, "2026-06-20", WHEN + dt.timedelta(hours=1)),
            (4, 2, 1, "in_progress", 70, "2026-11-20", WHEN + dt.timedelta(days=30)),
            (5, 2, 1, "not_started", None, "2026-06-20", WHEN + dt.timedelta(days=2)),
        ]
        for key, task, agency, status, percent, cycle, when in rows:
            await conn.execute(
                text(
                    "INSERT INTO progress_update (id, task_id, agency_id, status, percent, note, cycle, created_at)"
                    " VALUES (:id, :task, :agency, :status, :percent, 'ghi chú', :cycle, :when)"
                ),
                {
                    "id": key,
                    "task": task,
                    "agency": agency,
                    "status": status,
                    "percent": percent,
                    "cycle": dt.date.fromisoformat(cycle),
                    "when": when,
                },
            )

    await upgrade(unmigrated_db, MIGRATION.revision)

    assert await current_revision(unmigrated_db) == MIGRATION.revision
    async with unmigrated_db.engine.connect() as conn:
        kept = (
            await conn.execute(
                text(
                    "SELECT task_id, agency_id, update_id, status, percent FROM progress_latest"
                    " ORDER BY task_id, agency_id, cycle"
                )
            )
        ).all()
    expected = [(1, 1, 2, "blocked", None), (1, 2, 3, "done", None), (2, 1, 5, "not_started", None)]
    expected.append((2, 1, 4, "in_progress", 70))
    assert [tuple(row) for row in kept] == expected

    await upgrade(unmigrated_db)
    async with unmigrated_db.snapshot() as session:
        judged = await build_summary(
            session, 1, cycle=dt.date(2026, 11, 20), today=dt.date(2026, 7, 5), detail=ALL
        )
        counted = await build_summary(
            session, 1, cycle=dt.date(2026, 11, 20), today=dt.date(2026, 7, 5), detail=ATTENTION
        )
    # I.1's newest word is Sở B's "done" (the higher id in the same cycle), on time; I.2 is in
    # progress for November and has no end date.
    assert dict(counted.reported_counts) == dict(judged.reported_counts) == {"done": 1, "in_progress": 1}
    assert dict(counted.timing_counts) == dict(judged.timing_counts) == {"on_time": 1, "no_deadline": 1}
    assert counted.progress_sum == judged.progress_sum == 170
