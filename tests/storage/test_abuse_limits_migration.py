"""The abuse-limits migration keeps existing data: a database built at the revision before it, with
members (two active focal points for one agency, as a race left them), buttons and updates, comes
out with everything kept, the extra focal point retired, and the new limits in force."""

from __future__ import annotations

import importlib

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage.migrate import upgrade

MIGRATION = importlib.import_module("storage.migrations.versions.0008_abuse_limits")


ROWS = """
INSERT INTO agency (id, name, key, created_at) VALUES (1, 'Sở Du lịch', 'so du lich', '2020-05-01 00:00:00');
INSERT INTO agency (id, name, key, created_at) VALUES (2, 'Sở Ngoại vụ', 'so ngoai vu', '2020-05-01 00:00:00');
INSERT INTO member (id, name, role, agency_id, status, language, reachable, created_at)
  VALUES (1, 'Lan', 'focal', 1, 'active', 'vi', true, '2020-05-02 00:00:00');
INSERT INTO member (id, name, role, agency_id, status, language, reachable, created_at)
  VALUES (2, 'Hoa', 'focal', 1, 'active', 'vi', true, '2020-05-02 00:00:00');
INSERT INTO member (id, name, role, agency_id, status, language, reachable, created_at)
  VALUES (3, 'Minh', 'focal', 2, 'active', 'vi', true, '2020-05-02 00:00:00');
INSERT INTO member (id, name, role, agency_id, status, language, reachable, created_at)
  VALUES (4, 'Cũ', 'focal', 2, 'retired', 'vi', true, '2020-05-01 00:00:00');
INSERT INTO callback_action (id, key, platform, user_id, action, payload, created_at, expires_at)
  VALUES (1, 'k1', 'telegram', '42', 'tasks_page', '{"page": 1}', '2020-05-02 00:00:00', '2020-06-02 00:00:00');
"""


async def test_upgrading_keeps_members_and_buttons_and_retires_a_raced_second_focal_point(unmigrated_db):
    await upgrade(unmigrated_db, MIGRATION.down_revision)
    async with unmigrated_db.engine.begin() as conn:
        for statement in ROWS.strip().split(";"):
            if statement.strip():
                await conn.execute(text(statement))

    await upgrade(unmigrated_db, MIGRATION.revision)

    async with unmigrated_db.engine.connect() as conn:
        members = (await conn.execute(text("SELECT id, name, status FROM member ORDER BY id"))).all()
        buttons = (await conn.execute(text("SELECT key, user_id, chat_id FROM callback_action"))).all()
        attempts = await conn.scalar(text("SELECT count(*) FROM attempt"))
    expected = [(1, "Lan", "retired"), (2, "Hoa", "active"), (3, "Minh", "active"), (4, "Cũ", "retired")]
    assert [tuple(row) for row in members] == expected
    assert [tuple(row) for row in buttons] == [("k1", "42", None)]
    assert attempts == 0
    with pytest.raises(IntegrityError):
        async with unmigrated_db.engine.begin() as conn:
            await conn.execute(text("UPDATE member SET status = 'active' WHERE id = 1"))
