"""Migration 0015 (the index that seeks each agency's latest update) keeps the updates of a database
built at the revision before it, and the summary of the latest
schema reads them the same, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import importlib

from sqlalchemy import inspect, text

from storage.migrate import current_revision, upgrade
from storage.summary import latest_updates_by_agency
from tests.storage.old_rows import agencies_plan_and_section

MIGRATION = importlib.import_module("storage.migrations.versions.0015_update_seek")
WHEN = dt.datetime(2026, 6, 20, 1, 0)


async def test_upgrading_to_0015_keeps_the_updates_and_each_agencys_latest_is_found(unmigrated_db):
    await upgrade(unmigrated_db, MIGRATION.down_revision)
    async with unmigrated_db.engine.begin() as conn:
        await agencies_plan_and_section(conn, WHEN)
        await conn.execute(
            text(
                "INSERT INTO task (id, plan_id, section_id, number, code, content, timeframe_text, lead_text,"
                " coordinating_text, responsible) VALUES (1, 1, 1, 1, 'I.1', 'Tuyên truyền', 'Cả năm', '', '', '')"
            )
        )
        rows = [
            (1, 1, "in_progress", "2026-06-20", WHEN),
            (2, 2, "done", "2026-06-20", WHEN + dt.timedelta(hours=1)),
            (3, 1, "blocked", "2026-11-20", WHEN + dt.timedelta(days=30)),
            (4, 1, "done", "2026-06-20", WHEN + dt.timedelta(days=40)),  # late, for the earlier cycle
        ]
        for key, agency, status, cycle, when in rows:
            await conn.execute(
                text(
                    "INSERT INTO progress_update (id, task_id, agency_id, status, note, cycle, created_at)"
                    " VALUES (:id, 1, :agency, :status, 'ghi chú', :cycle, :when)"
                ),
                {
                    "id": key,
                    "agency": agency,
                    "status": status,
                    "cycle": dt.date.fromisoformat(cycle),
                    "when": when,
                },
            )

    await upgrade(unmigrated_db, MIGRATION.revision)

    assert await current_revision(unmigrated_db) == MIGRATION.revision
    async with unmigrated_db.engine.connect() as conn:
        indexes = await conn.run_sync(lambda sync: inspect(sync).get_indexes("progress_update"))
    # The summary of today's schema reads what was stored then.
    await upgrade(unmigrated_db)
    async with unmigrated_db.engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM progress_update"))).scalar()
        by_cycle = await latest_updates_by_agency(conn, 1, cycle=dt.date(2026, 11, 20))
        by_time = await latest_updates_by_agency(conn, 1)
    expected = ("ix_progress_update_task_agency", ["task_id", "agency_id", "cycle", "id"])
    assert expected in [(index["name"], index["column_names"]) for index in indexes]
    assert count == 4
    assert [(update.agency_id, update.id, update.status) for update in by_cycle[1]] == [
        (2, 2, "done"),
        (1, 3, "blocked"),
    ]
    assert [(update.agency_id, update.id) for update in by_time[1]] == [(2, 2), (1, 4)]
