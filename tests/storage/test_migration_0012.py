"""Migration 0012 (web sign-in links and sessions) keeps the members, identities and plans of a
database built at the revision before it, and its new tables take a link and a session for an old
member, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage.migrate import current_revision, upgrade

MIGRATION = importlib.import_module("storage.migrations.versions.0012_web")
WHEN = dt.datetime(2026, 6, 20, 1, 0, tzinfo=dt.UTC)


async def _fill_previous(conn) -> None:
    await conn.execute(
        text("INSERT INTO agency (id, name, key, created_at) VALUES (1, 'Sở Du lịch', 'so du lich', :w)"),
        {"w": WHEN},
    )
    await conn.execute(
        text(
            "INSERT INTO member (id, name, role, agency_id, status, language, reachable, created_at) "
            "VALUES (1, 'Lan', 'focal', 1, 'active', 'vi', :yes, :w), "
            "(2, 'Minh', 'coordinator', NULL, 'active', 'en', :yes, :w)"
        ),
        {"w": WHEN, "yes": True},
    )
    await conn.execute(
        text(
            "INSERT INTO identity (id, member_id, platform, external_id, chat_id, reachable, created_at) "
            "VALUES (1, 1, 'telegram', '42', '42', :yes, :w), (2, 2, 'zalo_oa', 'f-2', 'f-2', :yes, :w)"
        ),
        {"w": WHEN, "yes": True},
    )
    await conn.execute(
        text(
            "INSERT INTO plan (id, number, title, year, start_year, end_year, issuer, issuer_key, lifecycle,"
            " reporting_deadlines, imported_at) VALUES (1, '1/KH', 'Kế hoạch', 2026, 2026, 2026, '', '',"
            " 'auto', '[\"2026-06-20\", \"2026-11-20\"]', :w)"
        ),
        {"w": WHEN},
    )


async def test_upgrading_to_0012_keeps_old_rows_and_signs_an_old_member_in(unmigrated_db):
    await upgrade(unmigrated_db, MIGRATION.down_revision)
    async with unmigrated_db.engine.begin() as conn:
        await _fill_previous(conn)

    await upgrade(unmigrated_db, MIGRATION.revision)

    assert await current_revision(unmigrated_db) == MIGRATION.revision
    async with unmigrated_db.engine.begin() as conn:
        members = (
            await conn.execute(text("SELECT id, name, role, agency_id, language FROM member ORDER BY id"))
        ).all()
        identities = (
            await conn.execute(text("SELECT member_id, platform, chat_id FROM identity ORDER BY id"))
        ).all()
        plan = (await conn.execute(text("SELECT number, title, year FROM plan"))).one()
        for table, column in (("web_login_link", "token_hash"), ("web_session", "session_hash")):
            await conn.execute(
                text(
                    f"INSERT INTO {table} (id, {column}, member_id, platform, chat_id, user_id, created_at,"
                    " expires_at) VALUES (1, :hash, 1, 'telegram', '42', '42', :w, :until)"
                ),
                {"hash": "a" * 64, "w": WHEN, "until": WHEN + dt.timedelta(minutes=15)},
            )
        link = (
            await conn.execute(
                text(
                    "SELECT m.name, l.platform, l.chat_id, l.used_at FROM web_login_link l"
                    " JOIN member m ON m.id = l.member_id"
                )
            )
        ).one()
        session = (
            await conn.execute(
                text(
                    "SELECT m.name, s.user_id, s.ended_at FROM web_session s JOIN member m ON m.id = s.member_id"
                )
            )
        ).one()
    assert [tuple(row) for row in members] == [
        (1, "Lan", "focal", 1, "vi"),
        (2, "Minh", "coordinator", None, "en"),
    ]
    assert [tuple(row) for row in identities] == [(1, "telegram", "42"), (2, "zalo_oa", "f-2")]
    assert tuple(plan) == ("1/KH", "Kế hoạch", 2026)
    assert tuple(link) == ("Lan", "telegram", "42", None)
    assert tuple(session) == ("Lan", "42", None)
    # A link's token is used once: a second row with the same hash is refused.
    with pytest.raises(IntegrityError):
        async with unmigrated_db.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO web_login_link (id, token_hash, member_id, platform, chat_id, user_id,"
                    " created_at, expires_at) VALUES (2, :hash, 2, 'zalo_oa', 'f-2', 'f-2', :w, :w)"
                ),
                {"hash": "a" * 64, "w": WHEN},
            )


async def test_after_upgrading_to_0012_the_whole_chain_reaches_the_head_with_the_sign_in_rows(unmigrated_db):
    await upgrade(unmigrated_db, MIGRATION.down_revision)
    async with unmigrated_db.engine.begin() as conn:
        await _fill_previous(conn)
    await upgrade(unmigrated_db, MIGRATION.revision)
    async with unmigrated_db.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO web_session (id, session_hash, member_id, platform, chat_id, user_id, created_at,"
                " expires_at) VALUES (1, :hash, 2, 'zalo_oa', 'f-2', 'f-2', :w, :until)"
            ),
            {"hash": "b" * 64, "w": WHEN, "until": WHEN + dt.timedelta(days=7)},
        )

    await upgrade(unmigrated_db)

    async with unmigrated_db.engine.connect() as conn:
        kept = (
            await conn.execute(
                text("SELECT m.name, s.chat_id FROM web_session s JOIN member m ON m.id = s.member_id")
            )
        ).one()
    assert tuple(kept) == ("Minh", "f-2")
