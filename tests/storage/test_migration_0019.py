"""Migration 0019 (an index of the kept words by agency) upgrades a database with plans and updates in
it, and the overview then reads each agency's last update and the tasks' timing as the detailed
summary judges them, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import importlib

from sqlalchemy import inspect, text

from storage.migrate import current_revision, upgrade
from storage.summary import ALL, ATTENTION, build_summary
from tests.storage.old_rows import agencies_plan_and_section

MIGRATION = importlib.import_module("storage.migrations.versions.0019_progress_latest_agency")
WHEN = dt.datetime(2026, 6, 10, 1, 0)
JUNE, NOVEMBER = "2026-06-20", "2026-11-20"


async def plan_with_a_late_report(conn) -> None:
    """Three tasks of one plan and four updates as a database before 0019 holds them: Sở B reports
    I.3 for November, then late for June on the same task."""
    await agencies_plan_and_section(conn, WHEN)
    for key, end_on in ((1, "2026-06-30"), (2, None), (3, "2026-09-30")):
        await conn.execute(
            text(
                "INSERT INTO task (id, plan_id, section_id, number, code, content, timeframe_text, end_on,"
                " lead_text, coordinating_text, responsible)"
                " VALUES (:id, 1, 1, :id, :code, 'Tuyên truyền', 'Quý II', :end_on, '', '', '')"
            ),
            {"id": key, "code": f"I.{key}", "end_on": dt.date.fromisoformat(end_on) if end_on else None},
        )
    # Sở B reports I.3 for November, then late for June on the same task: the June row is
    # superseded, so its later moment is not Sở B's last update for November.
    rows = [
        (1, 1, 1, "done", None, JUNE, WHEN),
        (2, 2, 1, "in_progress", 30, NOVEMBER, WHEN + dt.timedelta(days=40)),
        (3, 3, 2, "in_progress", 60, NOVEMBER, WHEN + dt.timedelta(days=50)),
        (4, 3, 2, "blocked", None, JUNE, WHEN + dt.timedelta(days=60)),
    ]
    for key, task, agency, status, percent, cycle, when in rows:
        values = {
            "id": key,
            "task": task,
            "agency": agency,
            "status": status,
            "percent": percent,
            "cycle": dt.date.fromisoformat(cycle),
            "when": when,
        }
        await conn.execute(
            text(
                "INSERT INTO progress_update (id, task_id, agency_id, status, percent, note, cycle, created_at)"
                " VALUES (:id, :task, :agency, :status, :percent, 'ghi chú', :cycle, :when)"
            ),
            values,
        )
        await conn.execute(
            text(
                "INSERT INTO progress_latest (task_id, agency_id, cycle, update_id, status, percent, created_at)"
                " VALUES (:task, :agency, :cycle, :id, :status, :percent, :when)"
            ),
            values,
        )


async def test_upgrading_to_0019_keeps_the_overview_equal_to_the_detailed_summary(unmigrated_db):
    await upgrade(unmigrated_db, MIGRATION.down_revision)
    async with unmigrated_db.engine.begin() as conn:
        await plan_with_a_late_report(conn)

    await upgrade(unmigrated_db, MIGRATION.revision)

    assert await current_revision(unmigrated_db) == MIGRATION.revision
    async with unmigrated_db.engine.connect() as conn:
        indexes = await conn.run_sync(lambda sync: inspect(sync).get_indexes("progress_latest"))
    assert "ix_progress_latest_agency_created" in {index["name"] for index in indexes}
    await upgrade(unmigrated_db)  # the summary below is today's code: it reads later tables too

    async with unmigrated_db.snapshot() as session:
        judged = await build_summary(
            session, 1, cycle=dt.date(2026, 11, 20), today=dt.date(2026, 10, 5), detail=ALL
        )
        counted = await build_summary(
            session, 1, cycle=dt.date(2026, 11, 20), today=dt.date(2026, 10, 5), detail=ATTENTION
        )
    expected = {1: WHEN + dt.timedelta(days=40), 2: WHEN + dt.timedelta(days=50)}
    assert {
        a.id: a.last_update_at.replace(tzinfo=None) for a in counted.agencies if a.last_update_at
    } == expected
    assert {a.id: a.last_update_at for a in counted.agencies} == {
        a.id: a.last_update_at for a in judged.agencies
    }
    # I.1 done on time; I.2 in progress without an end date; I.3 overdue since 30/9.
    expected_timing = {"on_time": 1, "no_deadline": 1, "overdue": 1}
    assert dict(counted.timing_counts) == dict(judged.timing_counts) == expected_timing
    assert [task.code for task in counted.tasks] == ["I.3"]
