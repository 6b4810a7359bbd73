"""Migration 0018 (the command menus last set per chat scope) keeps the members of a database built at
the revision before it, starts with no menu recorded, and records and replaces menus afterwards; it
downgrades cleanly. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import importlib

from sqlalchemy import inspect, select

from storage import chat_menus
from storage.migrate import alembic_config, current_revision, upgrade
from storage.models.people import Member
from tests.factories import make_member, make_plan

MIGRATION = importlib.import_module("storage.migrations.versions.0018_chat_menus")
WHEN = dt.datetime(2026, 6, 1, 1, 0, tzinfo=dt.UTC)


async def test_upgrading_to_0018_keeps_members_and_records_menus_from_then_on(unmigrated_db):
    await upgrade(unmigrated_db, MIGRATION.down_revision)
    async with unmigrated_db.transaction() as session:
        built = await make_plan(session)
        await make_member(
            session, "Lan", agency=built.agencies["Sở Du lịch"], platform="telegram", user_id="7"
        )

    await upgrade(unmigrated_db, MIGRATION.revision)
    async with unmigrated_db.snapshot() as session:
        before = await chat_menus.shown(session, "telegram")
        names = (await session.scalars(select(Member.name))).all()
    async with unmigrated_db.transaction() as session:
        await chat_menus.record(session, "telegram", "7", {"": '[["tonghop", "Tổng hợp"]]'}, now=WHEN)
    async with unmigrated_db.transaction() as session:
        await chat_menus.record(session, "telegram", "7", {"vi": "[]", "en": "[]"}, now=WHEN)
    async with unmigrated_db.snapshot() as session:
        after = await chat_menus.shown(session, "telegram")

    assert await current_revision(unmigrated_db) == MIGRATION.revision
    assert names == ["Lan"]
    assert before == {}
    assert after == {"7": {"vi": "[]", "en": "[]"}}


async def test_0018_downgrades_to_the_revision_before(unmigrated_db):
    await upgrade(unmigrated_db, MIGRATION.revision)

    cfg = alembic_config(unmigrated_db.url)

    def run(connection) -> None:
        from alembic import command

        cfg.attributes["connection"] = connection
        command.downgrade(cfg, MIGRATION.down_revision)

    async with unmigrated_db.engine.connect() as conn:
        await conn.run_sync(run)
        await conn.commit()

    async with unmigrated_db.engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    assert await current_revision(unmigrated_db) == MIGRATION.down_revision
    assert "chat_menu" not in tables and "member" in tables
