"""Fixtures shared by every test: real databases (a SQLite file, and PostgreSQL where one runs)
and a clock the test moves by hand."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from scheduler.clock import ManualClock
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Base

PG_URL = os.environ.get("NHACVIEC_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REPO = Path(__file__).resolve().parents[1]
REFERENCE_PLAN = REPO.parent / "shared" / "plans" / "ke-hoach-87-KH-UBND-2020.txt"
SAMPLE_PLAN = REPO / "storage" / "samples" / "ke-hoach-mau.txt"


def pytest_configure(config) -> None:
    # The bot silences PTB's notice about its do_api_request("sendMessage") at import. pytest
    # drops the filters set while it loads conftests, collects or runs a test, where that import
    # happens; set here, the bot's own filter holds for every test.
    from bot.transports.telegram.transport import quiet_send_notice

    quiet_send_notice()


def run_blocking(make_coro) -> object:
    """Run a coroutine to completion from sync code, even inside a running event loop.

    Session fixtures are set up lazily from within async tests, where asyncio.run is not allowed,
    so they run on a private loop in a worker thread.
    """
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, make_coro()).result()


def _postgres_reachable() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""

    async def probe() -> None:
        db = Database(PG_URL)
        try:
            async with db.engine.connect() as conn:
                await conn.execute(text("select 1"))
        finally:
            await db.dispose()

    try:
        run_blocking(lambda: asyncio.wait_for(probe(), 5))
    except Exception as exc:  # any failure means "not here"; the reason is shown in the skip
        return f"PostgreSQL not reachable at {PG_URL}: {type(exc).__name__}: {exc}"
    return None


_PG_SKIP_REASON: str | None | bool = False  # False: not probed yet


def pg_skip_reason() -> str | None:
    global _PG_SKIP_REASON
    if _PG_SKIP_REASON is False:
        _PG_SKIP_REASON = _postgres_reachable()
    return _PG_SKIP_REASON


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file, copied for each test: migrating once keeps the suite fast."""
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def build() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        await upgrade(db)
        # Closing the last connection checkpoints the WAL into the file, so copying it is enough.
        await db.dispose()

    run_blocking(build)
    return path


@pytest.fixture(scope="session")
def pg_schema():
    """A private schema in the test database, migrated once per session and dropped at the end."""
    reason = pg_skip_reason()
    if reason:
        pytest.skip(reason)
    schema = f"nhacviec_test_{uuid.uuid4().hex[:10]}"

    async def setup() -> None:
        admin = Database(PG_URL)
        async with admin.engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        await admin.dispose()
        db = Database(PG_URL, pg_server_settings={"search_path": schema})
        await upgrade(db)
        await db.dispose()

    async def teardown() -> None:
        admin = Database(PG_URL)
        async with admin.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()

    run_blocking(setup)
    yield schema
    run_blocking(teardown)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request, tmp_path) -> Database:
    """A migrated, empty database: a real SQLite file, then the same test on real PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "nhacviec.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(sqlite_url(path))
    else:
        schema = request.getfixturevalue("pg_schema")
        database = Database(PG_URL, pg_server_settings={"search_path": schema})
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        async with database.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield database
    await database.dispose()


@pytest.fixture
async def sqlite_db(tmp_path, sqlite_template) -> Database:
    """Only SQLite, for tests about the embedded deployment itself."""
    path = tmp_path / "nhacviec.db"
    shutil.copy(sqlite_template, path)
    database = Database(sqlite_url(path))
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> ManualClock:
    # 1 June 2020, 08:00 in Hanoi: inside the reference plan's first reporting cycle.
    return ManualClock(dt.datetime(2020, 6, 1, 1, 0, tzinfo=dt.UTC))


@pytest.fixture
def reference_plan() -> Path:
    if not REFERENCE_PLAN.exists():
        pytest.skip("the reference plan (shared/plans beside the repository) is not present in this checkout")
    return REFERENCE_PLAN


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def unmigrated_db(request, tmp_path) -> Database:
    """An empty database with no schema at all, for migration tests: they upgrade it to the revision
    before theirs, put data in, and upgrade. A real SQLite file, then a private PostgreSQL schema."""
    if request.param == "sqlite":
        database = Database(sqlite_url(tmp_path / "old.db"))
        yield database
        await database.dispose()
        return
    reason = pg_skip_reason()
    if reason:
        pytest.skip(reason)
    schema = f"nhacviec_migration_{uuid.uuid4().hex[:10]}"
    admin = Database(PG_URL)
    async with admin.engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    database = Database(PG_URL, pg_server_settings={"search_path": schema})
    yield database
    await database.dispose()
    async with admin.engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await admin.dispose()
