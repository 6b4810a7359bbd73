"""Where SQLite statements run: the event loop's thread for what is quick, the driver's thread for
what may take long (storage.sqlite_driver).

Each statement reports the thread it ran on through an SQL function (SQLite calls a function on the
thread that runs the statement), so the tests see where work went, and check what a user would
notice if it went wrong: the loop keeps serving others while a long read or a lock wait goes on,
and every row is stored or rolled back as before.
"""

from __future__ import annotations

import asyncio
import faulthandler
import sys
import threading

import pytest
from sqlalchemy import event, insert, select, text
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.dialects import MAY_TAKE_LONG
from storage.migrate import upgrade
from storage.models import Agency
from storage.sqlite_driver import STREAK, kind

LONG_READ = (
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < :upto) "
    "SELECT count(*), max(thread_of_statement()) FROM n"
)
HOLDER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
connection.execute("COMMIT")
"""


def _report_threads(database: Database) -> None:
    def on_connect(dbapi_connection, _record):
        dbapi_connection.create_function("thread_of_statement", 0, threading.get_ident)

    for engine in {database.engine, database.read_engine}:
        event.listen(engine.sync_engine, "connect", on_connect)


@pytest.fixture
async def store(sqlite_db):
    _report_threads(sqlite_db)
    async with sqlite_db.transaction() as session:
        await session.execute(text("CREATE TABLE ran_on (label TEXT PRIMARY KEY, thread INTEGER)"))
    return sqlite_db


async def _threads(database: Database) -> dict[str, int]:
    async with database.snapshot() as session:
        return dict((await session.execute(text("SELECT label, thread FROM ran_on"))).all())


class Ticker:
    """Another task on the loop: counts how often it got to run meanwhile, and the longest it waited."""

    def __init__(self):
        self.ticks = 0
        self.longest_wait = 0.0
        self._task = asyncio.create_task(self._run())

    async def _run(self):
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(0)
            self.ticks += 1
            now = loop.time()
            self.longest_wait = max(self.longest_wait, now - last)
            last = now

    def stop(self) -> int:
        self._task.cancel()
        return self.ticks


LOOP = threading.get_ident()


async def test_a_brief_unit_of_work_runs_its_writes_on_the_loop_and_others_on_the_drivers_thread(store):
    record = text("INSERT INTO ran_on VALUES (:label, thread_of_statement())")
    async with store.transaction(brief=True) as session:
        await session.execute(record, {"label": "brief write"})
        await session.execute(record.execution_options(**MAY_TAKE_LONG), {"label": "brief, may take long"})
        read = await session.scalar(text("SELECT thread_of_statement()"))
    async with store.transaction() as session:
        await session.execute(record, {"label": "other write"})
    async with store.snapshot() as session:
        snapshot_read = await session.scalar(text("SELECT thread_of_statement()"))

    threads = await _threads(store)
    assert threads["brief write"] == LOOP
    assert read == LOOP
    assert snapshot_read == LOOP
    assert threads["brief, may take long"] != LOOP
    assert threads["other write"] != LOOP


async def test_core_statements_on_the_units_own_connection_run_on_the_loop_and_are_committed(store):
    # The summaries run Core statements on the unit's connection rather than through the session:
    # they take the same road, and SQLAlchemy's AsyncConnection accepts how the driver answers.
    record = text("INSERT INTO ran_on VALUES (:label, thread_of_statement())")
    async with store.transaction(brief=True) as session:
        connection = await session.connection()
        await connection.execute(record, {"label": "core"})
        await connection.exec_driver_sql("INSERT INTO ran_on VALUES ('driver sql', thread_of_statement())")
        read = (await connection.execute(text("SELECT thread_of_statement()"))).scalar()
    async with store.snapshot() as session:
        connection = await session.connection()
        snapshot_read = (await connection.execute(text("SELECT count(*) FROM ran_on"))).scalar()

    assert await _threads(store) == {"core": LOOP, "driver sql": LOOP}
    assert read == LOOP
    assert snapshot_read == 2


async def test_a_flush_of_several_rows_runs_them_all_on_the_loop_and_stores_them(store):
    async with store.transaction() as session:
        await session.execute(
            text(
                "CREATE TRIGGER agency_added AFTER INSERT ON agency "
                "BEGIN INSERT INTO ran_on VALUES (NEW.key, thread_of_statement()); END"
            )
        )
    async with store.transaction(brief=True) as session:
        session.add_all(Agency(name=f"Sở số {n}", key=f"so so {n}") for n in range(1, 4))
        await session.flush()
    async with store.snapshot() as session:
        names = (await session.scalars(select(Agency.name).order_by(Agency.key))).all()

    assert names == ["Sở số 1", "Sở số 2", "Sở số 3"]
    assert await _threads(store) == {"so so 1": LOOP, "so so 2": LOOP, "so so 3": LOOP}


async def test_a_task_started_inside_a_brief_unit_writes_on_the_drivers_thread_in_its_own_units(store):
    record = text("INSERT INTO ran_on VALUES (:label, thread_of_statement())")

    async def later():
        await asyncio.sleep(0.05)  # after the brief unit has ended
        async with store.transaction() as session:
            await session.execute(record, {"label": "the task's own unit"})

    async with store.transaction(brief=True) as session:
        await session.execute(record, {"label": "brief"})
        started = asyncio.create_task(later())
    await started

    threads = await _threads(store)
    assert threads["brief"] == LOOP
    assert threads["the task's own unit"] != LOOP


async def test_many_rows_at_once_go_to_the_drivers_thread_even_in_a_brief_unit(store):
    async with store.transaction(brief=True) as session:
        await session.execute(
            text("INSERT INTO ran_on VALUES (:label, thread_of_statement())"),
            [{"label": f"row {n}"} for n in range(3)],
        )
    threads = await _threads(store)
    assert len(threads) == 3
    assert LOOP not in threads.values()


async def test_a_read_past_its_budget_runs_again_on_the_drivers_thread_while_the_loop_serves_others(store):
    statement = text(LONG_READ + " -- the budget test")
    ticker = Ticker()
    async with store.transaction(brief=True) as session:
        count, thread = (await session.execute(statement, {"upto": 2_000_000})).one()
    ticks = ticker.stop()
    async with store.snapshot() as session:
        again = (await session.execute(statement, {"upto": 10})).one()
        other = (await session.execute(text(LONG_READ + " -- another statement"), {"upto": 10})).one()
    # A brief unit runs its writes on the loop, never a read known to be slow.
    async with store.transaction(brief=True) as session:
        in_brief = (await session.execute(statement, {"upto": 10})).one()

    assert count == 2_000_000
    assert thread != LOOP
    # Run on the loop, the read would have held it for its whole length: no other task would run.
    assert ticks > 20 and ticker.longest_wait < 0.2
    # Once slow, the statement goes straight to the driver's thread, even when quick; others do not.
    assert again[0] == 10 and again[1] != LOOP
    assert in_brief[0] == 10 and in_brief[1] != LOOP
    assert other == (10, LOOP)


async def test_a_quick_read_gives_the_same_rows_on_the_loop(store):
    async with store.snapshot() as session:
        count, thread = (await session.execute(text(LONG_READ + " -- quick"), {"upto": 10})).one()
    assert (count, thread) == (10, LOOP)


async def test_a_long_brief_unit_lets_the_loop_run_between_its_statements(store):
    ticker = Ticker()
    async with store.transaction(brief=True) as session:
        for n in range(STREAK * 4):
            await session.execute(
                text("INSERT INTO ran_on VALUES (:label, thread_of_statement())"), {"label": str(n)}
            )
    ticks = ticker.stop()

    threads = await _threads(store)
    assert len(threads) == STREAK * 4 and set(threads.values()) == {LOOP}
    assert ticks >= 3


async def test_a_brief_unit_that_fails_leaves_nothing_and_the_next_one_works(store):
    with pytest.raises(IntegrityError):
        async with store.transaction(brief=True) as session:
            session.add(Agency(name="Sở Du lịch", key="so du lich"))
            await session.flush()
            await session.execute(insert(Agency).values(name="Sở Du lịch 2", key="so du lich"))
    async with store.transaction(brief=True) as session:
        session.add(Agency(name="Sở Ngoại vụ", key="so ngoai vu"))
    async with store.snapshot() as session:
        assert (await session.scalars(select(Agency.name))).all() == ["Sở Ngoại vụ"]


async def test_waiting_for_another_writers_lock_does_not_hold_the_loop(tmp_path):
    path = tmp_path / "held.db"
    database = Database(f"sqlite+aiosqlite:///{path}", busy_timeout_ms=7_000)
    await upgrade(database)
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, str(path), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert (await holder.stdout.readline()).strip() == b"locked"

        async def write() -> int:
            async with database.transaction(brief=True) as session:
                session.add(Agency(name="Sở Du lịch", key="so du lich"))
                return await session.scalar(text("PRAGMA busy_timeout"))

        ticker = Ticker()
        await asyncio.sleep(0.01)
        writing = asyncio.create_task(write())
        await asyncio.sleep(0.3)
        assert not writing.done()
        holder.stdin.write(b"\n")
        await holder.stdin.drain()
        busy_timeout = await asyncio.wait_for(writing, 10)
        ticker.stop()
    finally:
        if holder.returncode is None:
            holder.kill()
        await holder.wait()

    async with database.snapshot() as session:
        assert (await session.scalars(select(Agency.name))).all() == ["Sở Du lịch"]
    await database.dispose()
    # The wait went on off the loop: another task ran all the while.
    assert ticker.longest_wait < 1.0
    # The lock was first tried without waiting; the connection keeps its own timeout afterwards.
    assert busy_timeout == 7_000


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("SELECT 1", "read"),
        ("  select x from t", "read"),
        ("WITH a AS (SELECT 1) SELECT * FROM a", "read"),
        ("WITH a AS (SELECT 1) DELETE FROM t WHERE x IN a", "other"),
        ("SELECT progress_update.update_key FROM progress_update", "read"),
        ("BEGIN IMMEDIATE", "begin immediate"),
        ("BEGIN", "begin"),
        ("BEGIN EXCLUSIVE", "other"),
        ("INSERT INTO t VALUES (1)", "other"),
        ("PRAGMA wal_checkpoint(PASSIVE)", "other"),
    ],
)
def test_what_a_statement_may_do(statement, expected):
    names = {0: "read", 1: "begin", 2: "begin immediate", 3: "other"}
    assert names[kind(statement)] == expected


async def test_a_statement_cancelled_on_the_drivers_thread_keeps_the_connection_there_until_it_ends(store):
    """A cancelled caller stops waiting while its statement runs on. SQLAlchemy throws such a
    connection away; should anything use it meanwhile, its statements must queue behind the
    cancelled one on the driver's thread, not run beside it on the loop's: there the loop's thread
    would wait for SQLite's connection mutex holding the GIL that the statement's SQL function needs,
    and the process would hang (faulthandler ends it, with the threads' stacks, if it does)."""
    faulthandler.dump_traceback_later(60, exit=True)
    try:
        await _cancel_then_run_more(store)
    finally:
        faulthandler.cancel_dump_traceback_later()


async def _cancel_then_run_more(store):
    async with store.read_engine.connect() as connection:
        adapted = (await connection.get_raw_connection()).dbapi_connection
        long_read = asyncio.create_task(
            adapted.statement(LONG_READ.replace(":upto", "?"), (3_000_000,), False, False)
        )
        await asyncio.sleep(0.2)
        long_read.cancel()
        with pytest.raises(asyncio.CancelledError):
            await long_read
        *_, quick = await adapted.statement("SELECT 7, thread_of_statement()", None, False, False)
        *_, after = await adapted.statement("SELECT 8, thread_of_statement()", None, False, False)

    assert quick[0][0] == 7 and quick[0][1] != LOOP
    # Once the cancelled read has ended, quick statements come back to the loop.
    assert after[0] == (8, LOOP)
