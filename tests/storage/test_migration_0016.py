"""Migration 0016 (staged imports, a revision per plan) keeps the plans of a database built at the
revision before it: they stay visible, at revision 0, and a re-import of one revises it in place."""

from __future__ import annotations

import datetime as dt
import importlib

from sqlalchemy import text

from storage.migrate import current_revision, upgrade
from storage.plans.importer import UPDATED
from storage.plans.parser import parse_plan_file
from storage.plans.repository import list_plans
from storage.plans.staging import import_staged
from tests.conftest import SAMPLE_PLAN

MIGRATION = importlib.import_module("storage.migrations.versions.0016_staged_import")
WHEN = dt.datetime(2021, 3, 20, 1, 0)
# Ids far above what the import's own rows take: PostgreSQL's sequences do not see explicit ids.


async def test_upgrading_to_0016_keeps_every_plan_visible_and_revisable(unmigrated_db):
    db = unmigrated_db
    await upgrade(db, MIGRATION.down_revision)
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO plan (id, number, title, year, start_year, end_year, issuer, issuer_key, lifecycle,"
                " reporting_deadlines, imported_at) VALUES (7, '45/KH-UBND', 'Kế hoạch cũ', 2021, 2021, 2021,"
                " 'UBND tỉnh Lam Giang', 'ubnd tinh lam giang', 'auto', '[\"2021-06-15\"]', :w)"
            ),
            {"w": WHEN},
        )
        await conn.execute(
            text("INSERT INTO agency (id, name, key, created_at) VALUES (1000, 'Sở A', 'so a', :w)"),
            {"w": WHEN},
        )
        await conn.execute(
            text(
                "INSERT INTO section (id, plan_id, numeral, position, heading, agency_id)"
                " VALUES (1000, 7, 'XX', 0, 'SỞ A', 1000)"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO task (id, plan_id, section_id, number, code, content, timeframe_text, lead_text,"
                " coordinating_text, responsible) VALUES (1000, 7, 1000, 1, 'XX.1', 'Việc cũ', 'Cả năm', '', '', '')"
            )
        )

    await upgrade(db, MIGRATION.revision)

    async with db.snapshot() as session:
        listed = [(p.id, p.number, p.tasks) for p in await list_plans(session)]
        stored = (await session.execute(text("SELECT revision, staged_by FROM plan WHERE id = 7"))).one()
    assert await current_revision(db) == "0016"
    assert listed == [(7, "45/KH-UBND", 1)]
    assert tuple(stored) == (0, None)

    report = await import_staged(db, parse_plan_file(SAMPLE_PLAN))

    async with db.snapshot() as session:
        listed = [(p.id, p.number, p.sections, p.tasks) for p in await list_plans(session)]
        archived = (
            await session.execute(text("SELECT archived_at IS NOT NULL FROM task WHERE id = 1000"))
        ).scalar()
    assert (report.status, report.plan_id) == (UPDATED, 7)
    assert report.changes.tasks_removed == ["XX.1"]
    assert listed == [(7, "45/KH-UBND", 7, 30)]
    assert archived
