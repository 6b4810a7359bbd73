"""The agency registry migration keeps every agency, alias, member and link, and makes them active."""

from __future__ import annotations

import importlib

from sqlalchemy import text

from storage.migrate import upgrade

MIGRATION = importlib.import_module("storage.migrations.versions.0006_agency_registry")


async def test_upgrading_keeps_agencies_aliases_and_people_and_makes_every_agency_active(unmigrated_db):
    await upgrade(unmigrated_db, MIGRATION.down_revision)
    async with unmigrated_db.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO agency (id, name, short_name, key, created_at) VALUES "
                "(1, 'Sở Thông tin và Truyền thông', 'Sở TTTT', 'so thong tin va truyen thong', "
                "'2020-05-01 00:00:00'), (2, 'Sở Du lịch', NULL, 'so du lich', '2020-05-01 00:00:00')"
            )
        )
        await conn.execute(
            text("INSERT INTO agency_alias (id, agency_id, alias, key) VALUES (1, 1, 'Sở TT&TT', 'so tt tt')")
        )
        await conn.execute(
            text(
                "INSERT INTO member (id, name, role, agency_id, status, language, reachable, created_at) "
                "VALUES (1, 'Chị Lan', 'focal', 1, 'active', 'vi', true, '2020-05-02 00:00:00')"
            )
        )

    await upgrade(unmigrated_db)

    async with unmigrated_db.engine.connect() as conn:
        agencies = (
            await conn.execute(
                text(
                    "SELECT id, name, short_name, status, status_since, successor_id, is_group "
                    "FROM agency ORDER BY id"
                )
            )
        ).all()
        alias = (await conn.execute(text("SELECT agency_id, alias FROM agency_alias"))).all()
        member = (await conn.execute(text("SELECT name, agency_id FROM member"))).all()
        events = (await conn.execute(text("SELECT count(*) FROM agency_event"))).scalar()
    expected = [
        (1, "Sở Thông tin và Truyền thông", "Sở TTTT", "active", None, None, False),
        (2, "Sở Du lịch", None, "active", None, None, False),
    ]
    assert [tuple(row) for row in agencies] == expected
    assert [tuple(row) for row in alias] == [(1, "Sở TT&TT")]
    assert [tuple(row) for row in member] == [("Chị Lan", 1)]
    assert events == 0
