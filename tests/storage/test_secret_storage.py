"""The Zalo OA tokens at rest: sealed by migration 0009 and by every write, never in the file or a backup.

The attack found the access and refresh tokens in plain text in the database, and so in every backup.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import sqlite3
import uuid

import pytest
from sqlalchemy import select, text

from bot.cli import main
from bot.ops.backup import backup_sqlite
from storage import zalo
from storage.db import Database
from storage.migrate import upgrade
from storage.models.zalo import ZaloOAToken
from storage.secret_box import SecretBox, new_key
from tests.conftest import PG_URL

MIGRATION = importlib.import_module("storage.migrations.versions.0009_oa_security")
ACCESS = "access-8f1c0e5b9a7d4c3e2f1a0b9c8d7e6f5a"
REFRESH = "refresh-1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d"
NOW = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def previous(request, tmp_path):
    """A database at the revision before 0009, holding a token pair stored in the clear."""
    if request.param == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
        schema = None
    else:
        schema = f"nhacviec_secret_{uuid.uuid4().hex[:10]}"
        admin = Database(PG_URL)
        async with admin.engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        await admin.dispose()
        db = Database(PG_URL, pg_server_settings={"search_path": schema})
    await upgrade(db, MIGRATION.down_revision)
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO zalo_oa_token (app_id, access_token, refresh_token, generation, updated_at) "
                "VALUES ('app-1', :access, :refresh, 3, :now)"
            ),
            {"access": ACCESS, "refresh": REFRESH, "now": NOW},
        )
    yield db
    await db.dispose()
    if schema:
        admin = Database(PG_URL)
        async with admin.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


async def stored(db) -> tuple[str, str, int]:
    async with db.snapshot() as session:
        row = await session.get(ZaloOAToken, "app-1")
        return row.access_token, row.refresh_token, row.generation


async def test_the_upgrade_seals_stored_tokens_with_the_key(previous, monkeypatch):
    key = new_key()
    monkeypatch.setenv("NHACVIEC_SECRET_KEY", key)

    await upgrade(previous)

    access, refresh, generation = await stored(previous)
    box = SecretBox.from_setting(key)
    assert (box.open(access), box.open(refresh), generation) == (ACCESS, REFRESH, 3)
    assert ACCESS not in access and REFRESH not in refresh
    async with previous.snapshot() as session:
        assert await session.scalar(text("SELECT count(*) FROM zalo_oa_event")) == 0


async def test_without_the_key_the_upgrade_keeps_the_tokens_and_says_so(previous, monkeypatch, caplog):
    monkeypatch.delenv("NHACVIEC_SECRET_KEY", raising=False)

    await upgrade(previous)

    assert await stored(previous) == (ACCESS, REFRESH, 3)
    assert "NHACVIEC_SECRET_KEY is not set" in caplog.text
    async with previous.snapshot() as session:
        assert await zalo.plain_tokens_stored(session)


def file_bytes(path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


async def test_neither_the_database_file_nor_a_backup_holds_a_token_in_the_clear(tmp_path, monkeypatch):
    path = tmp_path / "city.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await upgrade(db, MIGRATION.down_revision)
    # Before the upgrade: a pair stored in the clear, then replaced (its bytes freed, not erased).
    for access, refresh in (("access-old-0001", "refresh-old-0001"), (ACCESS, REFRESH)):
        async with db.engine.begin() as conn:
            await conn.execute(text("DELETE FROM zalo_oa_token"))
            await conn.execute(
                text(
                    "INSERT INTO zalo_oa_token (app_id, access_token, refresh_token, generation, updated_at) "
                    "VALUES ('app-1', :access, :refresh, 1, :now)"
                ),
                {"access": access, "refresh": refresh, "now": NOW},
            )
    key = new_key()
    monkeypatch.setenv("NHACVIEC_SECRET_KEY", key)
    await upgrade(db)
    box = SecretBox.from_setting(key)
    # After it: a refresh stores the next pair the way the running bot does.
    async with db.transaction() as session:
        row = await zalo.claim_refresh(session, "app-1", ACCESS, NOW, dt.timedelta(minutes=1), box)
        generation = row.generation
    async with db.transaction() as session:
        await zalo.store_refreshed(
            session, "app-1", generation, "access-new-0003", "refresh-new-0003", NOW, NOW, None, box
        )
    await db.dispose()
    backup = tmp_path / "backup.db"
    backup_sqlite(path, backup)

    secrets = [b"access-old-0001", b"refresh-old-0001", ACCESS.encode(), REFRESH.encode()]
    secrets += [b"access-new-0003", b"refresh-new-0003"]
    for where in (file_bytes(path), backup.read_bytes()):
        assert [s for s in secrets if s in where] == []
    with sqlite3.connect(backup) as conn:
        (sealed,) = conn.execute("SELECT access_token FROM zalo_oa_token").fetchone()
    assert box.open(sealed) == "access-new-0003"


async def test_a_key_is_rotated_by_listing_the_new_key_first(db, tmp_path, monkeypatch, capsys):
    old, new = new_key(), new_key()
    async with db.transaction() as session:
        await zalo.seed_token(session, "app-1", ACCESS, REFRESH, NOW, None, SecretBox.from_setting(old))

    monkeypatch.setenv("NHACVIEC_SECRET_KEY", f"{new},{old}")
    monkeypatch.setenv("NHACVIEC_DATABASE_URL", db.url)
    code = await asyncio.to_thread(main, ["db", "rotate-key"]) if db.sqlite else None
    if not db.sqlite:  # the CLI on PostgreSQL would need the test schema; the same service, in process
        async with db.transaction() as session:
            await zalo.reseal_tokens(session, SecretBox.from_setting(f"{new},{old}"))

    access, refresh, _ = await stored(db)
    only_new = SecretBox.from_setting(new)
    assert (only_new.open(access), only_new.open(refresh)) == (ACCESS, REFRESH)
    if code is not None:
        assert code == 0
        assert (
            "Đã mã hóa lại 1 bí mật đã lưu" in capsys.readouterr().out
        )  # the CLI speaks Vietnamese by default


async def test_a_replaced_key_is_a_clear_error_not_garbage(db):
    async with db.transaction() as session:
        await zalo.seed_token(session, "app-1", ACCESS, REFRESH, NOW, None, SecretBox.from_setting(new_key()))
    access, _, _ = await stored(db)

    with pytest.raises(ValueError, match="no key in NHACVIEC_SECRET_KEY opens a stored secret"):
        SecretBox.from_setting(new_key()).open(access)


async def test_tokens_written_by_the_bot_are_sealed(db):
    box = SecretBox.from_setting(new_key())
    async with db.transaction() as session:
        await zalo.seed_token(session, "app-1", ACCESS, REFRESH, NOW, None, box)
    async with db.snapshot() as session:
        raw = (await session.execute(select(ZaloOAToken.access_token, ZaloOAToken.refresh_token))).one()

    assert [value.startswith("fernet:") for value in raw] == [True, True]
    assert (box.open(raw[0]), box.open(raw[1])) == (ACCESS, REFRESH)
