"""Migration 0010 (platform delivery) keeps the data of a database built at the revision before it,
on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import importlib

from sqlalchemy import text

from storage.migrate import current_revision, upgrade

MIGRATION = importlib.import_module("storage.migrations.versions.0010_platform_delivery")
WHEN = dt.datetime(2026, 6, 20, 1, 0)


async def test_upgrading_to_0010_keeps_members_identities_and_the_oa_token(unmigrated_db):
    await upgrade(unmigrated_db, MIGRATION.down_revision)
    async with unmigrated_db.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO member (id, name, role, status, language, reachable, created_at) "
                "VALUES (1, 'Lan', 'focal', 'active', 'vi', :yes, :when)"
            ),
            {"when": WHEN, "yes": True},
        )
        await conn.execute(
            text(
                "INSERT INTO identity (id, member_id, platform, external_id, chat_id, reachable, created_at) "
                "VALUES (1, 1, 'zalo_oa', 'f-1', 'f-1', :yes, :when)"
            ),
            {"when": WHEN, "yes": True},
        )
        await conn.execute(
            text(
                "INSERT INTO zalo_oa_token (app_id, access_token, refresh_token, generation, updated_at) "
                "VALUES ('app', 'access', 'refresh', 3, :when)"
            ),
            {"when": WHEN},
        )

    await upgrade(unmigrated_db, MIGRATION.revision)

    assert await current_revision(unmigrated_db) == MIGRATION.revision
    async with unmigrated_db.engine.begin() as conn:
        member = (await conn.execute(text("SELECT name, role, language FROM member"))).one()
        identity = (await conn.execute(text("SELECT platform, chat_id FROM identity"))).one()
        token = (
            await conn.execute(text("SELECT access_token, refresh_token, generation FROM zalo_oa_token"))
        ).one()
        parked = (await conn.execute(text("SELECT count(*) FROM parked_reply"))).scalar()
    assert tuple(member) == ("Lan", "focal", "vi")
    assert tuple(identity) == ("zalo_oa", "f-1")
    assert tuple(token) == ("access", "refresh", 3)
    assert parked == 0
