import datetime as dt

import pytest
from sqlalchemy import select, text

from storage.migrate import current_revision, head_revision
from storage.models import Agency


async def test_migrations_bring_the_schema_to_head(db):
    expected = head_revision()
    assert await current_revision(db) == expected


async def test_a_transaction_commits_at_the_end_of_its_block(db):
    async with db.transaction() as session:
        session.add(Agency(name="Sở Du lịch", key="so du lich"))
    async with db.snapshot() as session:
        names = (await session.scalars(select(Agency.name))).all()
    assert names == ["Sở Du lịch"]


async def test_a_failing_unit_of_work_leaves_nothing_behind(db):
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            session.add(Agency(name="Sở Du lịch", key="so du lich"))
            await session.flush()
            raise RuntimeError("boom")
    async with db.snapshot() as session:
        assert (await session.scalars(select(Agency))).all() == []


async def test_datetimes_come_back_aware_in_utc(db):
    hanoi = dt.timezone(dt.timedelta(hours=7))
    written = dt.datetime(2020, 6, 20, 8, 0, tzinfo=hanoi)
    async with db.transaction() as session:
        session.add(Agency(name="Sở Ngoại vụ", key="so ngoai vu", created_at=written))
    async with db.snapshot() as session:
        stored = await session.scalar(select(Agency.created_at))
    assert stored == written
    assert stored.tzinfo == dt.UTC


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_db):
    async with sqlite_db.engine.connect() as conn:
        journal = (await conn.execute(text("PRAGMA journal_mode"))).scalar()
        foreign_keys = (await conn.execute(text("PRAGMA foreign_keys"))).scalar()
        busy = (await conn.execute(text("PRAGMA busy_timeout"))).scalar()
    assert (journal, foreign_keys) == ("wal", 1)
    assert busy >= 5000


async def test_objects_read_in_a_snapshot_stay_readable_after_it(db):
    async with db.transaction() as session:
        session.add(Agency(name="Sở Du lịch", key="so du lich"))
    async with db.snapshot() as session:
        agency = await session.scalar(select(Agency))
    expected = "Sở Du lịch"
    assert agency.name == expected


async def test_a_snapshot_never_writes(db):
    async with db.snapshot() as session:
        session.add(Agency(name="Sở Du lịch", key="so du lich"))
    async with db.snapshot() as session:
        assert (await session.scalars(select(Agency))).all() == []


async def test_a_sqlite_connection_given_back_inside_a_transaction_is_rolled_back(sqlite_db):
    # Begun behind SQLAlchemy's back, on the driver itself: only the pool's reset can end it.
    async with sqlite_db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        await raw.driver_connection.execute("BEGIN IMMEDIATE")
        await raw.driver_connection.execute(
            "INSERT INTO agency (name, key, status, created_at) VALUES ('Sở Du lịch', 'so du lich', 'active', '2020-06-01')"
        )
    async with sqlite_db.transaction() as session:  # the write lock is free again
        session.add(Agency(name="Sở Ngoại vụ", key="so ngoai vu"))
    async with sqlite_db.snapshot() as session:
        names = (await session.scalars(select(Agency.name))).all()
    expected = ["Sở Ngoại vụ"]
    assert names == expected


def test_the_newest_migration_read_from_the_files_is_alembics_head():
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config, head_revision

    expected = ScriptDirectory.from_config(alembic_config()).get_current_head()

    assert head_revision() == expected


async def test_a_database_never_migrated_has_no_revision(tmp_path):
    from storage.db import Database
    from storage.migrate import current_revision

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        assert await current_revision(db) is None
    finally:
        await db.dispose()


def test_starting_the_cli_does_not_import_alembic_or_the_report_libraries():
    from tests.probes import run_python

    probe = (
        "import sys, bot.cli, bot.core.service, bot.transports.telegram.runner; "
        "print(sorted(m for m in ('alembic', 'docx', 'openpyxl', 'matplotlib') if m in sys.modules))"
    )
    assert run_python(probe) == "[]"
