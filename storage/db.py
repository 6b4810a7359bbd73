"""Engines and units of work.

One `Database` per process. Work happens in `async with db.transaction() as session:` blocks: the
block commits when it ends normally and rolls back on an exception, so repositories never commit.
Read-only work uses `db.snapshot()`, which never writes and never takes SQLite's write lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage import checkpoints, sqlite_driver
from storage.checkpoints import WalCheckpointer

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite+aiosqlite:///nhacviec.db"
# PostgreSQL: connections kept open, and more opened for a burst. A transport handles up to 16
# updates at once, each holding a connection for its unit of work, beside the reminder engine and
# the dashboard; a connection opened for one update and closed after it cost that update several
# milliseconds of CPU (`bench/bench_instances.py`).
PG_POOL_SIZE = 20
PG_MAX_OVERFLOW = 10
# A pooled PostgreSQL connection idle for longer than this is checked before use (see `_pg_engine`).
PG_PING_AFTER_IDLE_SECONDS = 1.0
SQLITE_BUSY_TIMEOUT_MS = 10_000
# How long a unit of work waits, in all, for SQLite's write lock before it fails. A plan import of
# tens of thousands of tasks (one transaction, so that a bad file changes nothing) holds the lock for
# tens of seconds on a small machine; a chat write meanwhile waits and then answers normally.
SQLITE_LOCK_WAIT_SECONDS = 300.0
SQLITE_MMAP_BYTES = 256 * 1024 * 1024


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_engine(
    url: str,
    *,
    immediate: bool,
    busy_timeout_ms: int,
    autocheckpoint: Callable[[], int] | None = None,
    committed: Callable[[], None] | None = None,
) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.drivername == "sqlite+aiosqlite":
        # The same driver, one hand-off to its thread per statement instead of four.
        parsed = parsed.set(drivername=f"sqlite+{sqlite_driver.DRIVER}")
    engine = create_async_engine(
        parsed, connect_args={"timeout": busy_timeout_ms / 1000}, pool_reset_on_return=None
    )

    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(dbapi_connection, _record, state):
        # What the pool's default reset did (a rollback of every connection given back), only where
        # a transaction is still open: after a commit it was one more trip to the driver's thread
        # per unit of work, for nothing.
        if state.asyncio_safe and not state.terminate_only and dbapi_connection.in_transaction:
            dbapi_connection.rollback()

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # The stdlib driver opens transactions lazily and only before DML, which lets two writers
        # both read and then deadlock on upgrade. Take control of BEGIN ourselves (see "begin").
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # NORMAL is durable across process crashes in WAL mode; only an OS crash may lose the
        # last transactions, which the outbox tolerates (a reminder would be planned again).
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Reads through a memory map skip a copy per page; summaries scan whole tables.
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.close()

    if committed is not None:
        # Every commit of the engine, a chat message's or an import's.
        event.listen(engine.sync_engine, "commit", lambda _conn: committed())

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn):
        if autocheckpoint is not None:
            # Where the writer checkpoints by itself (storage.checkpoints): set on each connection
            # the first time it writes after a change, a dictionary lookup otherwise.
            pages = autocheckpoint()
            if conn.info.get("wal_autocheckpoint") != pages:
                conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={pages}")
                conn.info["wal_autocheckpoint"] = pages
        # Writers take the write lock up front so that busy_timeout applies, instead of failing
        # with SQLITE_BUSY when a deferred transaction tries to upgrade its read lock.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _pg_engine(
    url: str,
    *,
    connect_args: dict,
    pool_size: int,
    max_overflow: int,
    ping_after_idle: float,
    monotonic: Callable[[], float],
) -> AsyncEngine:
    """PostgreSQL through asyncpg, its pooled connections checked before use only after being idle.

    SQLAlchemy's `pool_pre_ping` checks every connection each time it is taken, and on asyncpg a
    check is three round trips (BEGIN, an empty statement, ROLLBACK): under a burst, where each
    connection is given back and taken again within milliseconds, that was a tenth of each update's
    unit of work. A connection dropped by the server (a restart, a failover, an idle timeout) has
    been idle at least as long as the server was away, so one idle past `ping_after_idle` seconds is
    checked and, if dead, replaced before anything runs on it (0: every time, as pre-ping does). A
    connection dropped within that window fails the unit of work using it (rolled back, nothing
    half-stored; a chat message is then handled again, see `bot.core.service`), and SQLAlchemy
    replaces every connection opened before the failure."""
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=False,
        # The connection given back last is taken first: at a few updates a second the same few
        # stay busy (and unchecked) while the rest idle, instead of each waiting its turn past
        # the idle limit and being checked every time.
        pool_use_lifo=True,
        connect_args=connect_args,
    )
    dialect = engine.sync_engine.dialect

    @event.listens_for(engine.sync_engine, "connect")
    def _opened(_dbapi_connection, record):
        record.info["idle_since"] = monotonic()

    @event.listens_for(engine.sync_engine, "checkin")
    def _returned(_dbapi_connection, record):
        if record is not None:
            record.info["idle_since"] = monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _taken(dbapi_connection, record, _proxy):
        idle_since = record.info.get("idle_since")
        if idle_since is not None and monotonic() - idle_since < ping_after_idle:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool closes this connection and takes another (a new one if need be).
            raise DisconnectionError("a pooled PostgreSQL connection was found closed") from exc

    return engine


class Database:
    """The process's connection to the store: a writer and a reader engine over one URL."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        pg_server_settings: dict[str, str] | None = None,
        busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
        lock_wait_seconds: float = SQLITE_LOCK_WAIT_SECONDS,
        pg_pool_size: int = PG_POOL_SIZE,
        pg_max_overflow: int = PG_MAX_OVERFLOW,
        pg_ping_after_idle_seconds: float = PG_PING_AFTER_IDLE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        """`monotonic`: the clock a pooled connection's idle time is read from (tests move it)."""
        self.url = url
        self.sqlite = is_sqlite(url)
        self.lock_wait_seconds = lock_wait_seconds
        self._checkpointer: WalCheckpointer | None = None
        if self.sqlite:
            self.engine = _sqlite_engine(
                url,
                immediate=True,
                busy_timeout_ms=busy_timeout_ms,
                autocheckpoint=self._autocheckpoint_pages,
                committed=self._committed,
            )
            self.read_engine = _sqlite_engine(url, immediate=False, busy_timeout_ms=busy_timeout_ms)
        else:
            self.engine = _pg_engine(
                url,
                connect_args={"server_settings": pg_server_settings} if pg_server_settings else {},
                pool_size=pg_pool_size,
                max_overflow=pg_max_overflow,
                ping_after_idle=pg_ping_after_idle_seconds,
                monotonic=monotonic,
            )
            self.read_engine = self.engine
        self._writer = async_sessionmaker(self.engine, expire_on_commit=False)
        self._reader = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return "sqlite" if self.sqlite else self.engine.dialect.name

    def sqlite_path(self) -> Path | None:
        if not self.sqlite:
            return None
        database = make_url(self.url).database
        return None if database in (None, "", ":memory:") else Path(database)

    @contextlib.asynccontextmanager
    async def transaction(self, *, brief: bool = False) -> AsyncIterator[AsyncSession]:
        """A unit of work that writes: committed at the end of the block, rolled back on error.

        `brief`: its writes touch a few rows each (a chat message), so on SQLite they run on the
        event loop's thread rather than the driver's (see `storage.sqlite_driver`); a statement that
        may touch many runs with `storage.dialects.MAY_TAKE_LONG`.

        On SQLite the write lock is taken before the block runs (BEGIN IMMEDIATE), and waited for
        again and again while another writer holds it, up to `lock_wait_seconds` in all: nothing
        has run yet, so trying again is always safe, and "database is locked" never reaches a user
        while a long import is writing.
        """
        async with self._writer() as session:
            if not self.sqlite:
                async with session.begin():
                    yield session
                return
            with sqlite_driver.brief(brief):
                await self._take_write_lock(session)
                try:
                    yield session
                except BaseException:
                    await session.rollback()
                    raise
                await session.commit()

    async def _take_write_lock(self, session: AsyncSession) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lock_wait_seconds
        while True:
            try:
                await session.connection()  # begins the transaction: BEGIN IMMEDIATE
                return
            except OperationalError as exc:
                await session.rollback()
                if "locked" not in str(exc.orig) or loop.time() >= deadline:
                    raise
                log.info("database write lock held by another writer (an import?): still waiting")

    def _autocheckpoint_pages(self) -> int:
        """Where the writer copies the WAL back by itself: far later while a checkpointer does it."""
        return checkpoints.DEFAULT_PAGES if self._checkpointer is None else checkpoints.FALLBACK_PAGES

    def _committed(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.written()

    @contextlib.asynccontextmanager
    async def checkpoints_in_background(self, **options) -> AsyncIterator[WalCheckpointer | None]:
        """While the block runs, SQLite's WAL is copied back into the database file on a worker
        thread instead of inside the commit of whichever chat message fills it (storage.checkpoints);
        `options` go to `WalCheckpointer`. For a process that serves; nothing on PostgreSQL or an
        in-memory database (None)."""
        path = self.sqlite_path()
        if path is None or self._checkpointer is not None:
            yield None
            return
        checkpointer = self._checkpointer = WalCheckpointer(path, **options)
        checkpointer.start()
        try:
            yield checkpointer
        finally:
            self._checkpointer = None
            await checkpointer.stop()

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncSession]:
        """A unit of work that only reads; whatever it might have changed is rolled back."""
        # Closing (not rolling back) ends the read transaction without expiring what was loaded,
        # so callers can use the objects after the block; close() discards any pending changes.
        async with self._reader() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
