"""SQLAlchemy's aiosqlite dialect, running on the event loop's own thread what cannot hold it up.

aiosqlite runs every sqlite3 call on a thread of its own and hands the result back to the event
loop. A hand-off costs 0.2–0.3 ms of CPU (two thread switches and a wake-up of the loop), a hundred
times what SQLite needs for a chat message's statements, and a message runs six to eight of them.
So a statement goes to the driver's thread only where it might take long:

* a read (SELECT, WITH, VALUES) runs on the loop's thread within a budget of `READ_BUDGET_SECONDS`:
  SQLite's progress handler interrupts one that outlasts it, and it runs again on the driver's
  thread, as it will every time after. A read has changed nothing, so running it again is safe,
  and a summary over a million updates never stalls the loop;
* `BEGIN IMMEDIATE` is tried on the loop's thread without waiting; when another writer holds the
  lock, it is waited for on the driver's thread (SQLite's busy timeout), as before;
* writes, COMMIT and ROLLBACK run on the loop's thread only inside `brief()`: a unit of work of a
  few single-row writes (a chat message). Elsewhere a write may take seconds (an import, a merge) and
  stays on the driver's thread, as does every executemany and any statement run with
  `storage.dialects.MAY_TAKE_LONG`;
* after `STREAK` statements in a row on the loop's thread, a unit of work lets the loop run once.

On either thread the statement runs whole in one call (cursor opened, executed, rows read, closed),
one trip where SQLAlchemy's adapter made four. The sqlite3 connection is shared by the two threads
(`check_same_thread=False`), never at once: SQLAlchemy runs one statement of a connection at a
time, under the adapter's mutex, and a statement left running on the driver's thread by a
cancelled caller keeps the connection's next ones there until it ends (`_on_thread`).

`storage.db` uses it for every `sqlite+aiosqlite` URL.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util import EMPTY_DICT, await_

from storage.dialects import ON_THREAD

DRIVER = "nhacviec_aiosqlite"
READ_BUDGET_SECONDS = 0.002
# How often (in SQLite VM steps) the budget is checked: about every 10–50 µs of a statement's work.
PROGRESS_STEPS = 1000
STREAK = 16

_brief: ContextVar[bool] = ContextVar("nhacviec_brief_work", default=False)


@contextlib.contextmanager
def brief(on: bool = True) -> Iterator[None]:
    """Within this block, writes, COMMIT and ROLLBACK run on the loop's thread (`on`), or not: for
    units of work whose writes touch a few rows each (run a statement that may not with
    `MAY_TAKE_LONG`). Set both ways, since a task started inside a brief unit inherits its flag."""
    token = _brief.set(on)
    try:
        yield
    finally:
        _brief.reset(token)


READ, BEGIN, BEGIN_IMMEDIATE, OTHER = range(4)
# A WITH may end in a write; a word match is enough, since a read taken for a write only loses the
# loop's thread, never correctness.
_WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def kind(operation: str) -> int:
    """What a statement may do: decides where it can run. SQLAlchemy's compiled statements are the
    same strings again and again, so this is a cache lookup per statement."""
    head = operation.lstrip()[:16].upper()
    if head.startswith(("SELECT", "WITH", "VALUES")) and not _WRITES.search(operation):
        return READ
    if head.startswith("BEGIN IMMEDIATE"):
        return BEGIN_IMMEDIATE
    if head.startswith(("BEGIN DEFERRED", "BEGIN TRANSACTION")) or head.rstrip(" ;") == "BEGIN":
        return BEGIN
    return OTHER


def _execute(connection, operation: str, parameters, many: bool):
    """The whole statement, its rows read before the cursor is closed."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else ()
        return description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def _read_within_budget(connection, operation: str, parameters):
    """The read's result, or None when it ran past the budget and was interrupted."""
    deadline = time.perf_counter() + READ_BUDGET_SECONDS
    connection.set_progress_handler(lambda: time.perf_counter() > deadline, PROGRESS_STEPS)
    try:
        return _execute(connection, operation, parameters, False)
    except sqlite3.OperationalError as exc:
        if str(exc) == "interrupted":
            return None
        raise
    finally:
        connection.set_progress_handler(None, 0)


# Reads that once ran past the budget: they go to the driver's thread from then on, instead of
# spending the budget again each time before going there (a page of the dashboard runs several).
# A statement is slow or quick mostly by its shape; one quick with some values and slow with
# others costs a trip, as every statement did before.
_slow_reads: set[str] = set()
_SLOW_READS_KEPT = 2048


def _note_slow(operation: str) -> None:
    if len(_slow_reads) >= _SLOW_READS_KEPT:
        _slow_reads.clear()
    _slow_reads.add(operation)


def _begin_without_waiting(connection, operation: str, busy_timeout_ms: int):
    """BEGIN IMMEDIATE if the write lock is free now; None when another writer holds it."""
    connection.execute("PRAGMA busy_timeout=0")
    try:
        return _execute(connection, operation, None, False)
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) and not connection.in_transaction:
            return None
        raise
    finally:
        connection.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")


_IDLE = threading.Event()
_IDLE.set()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ("_description", "_rowcount", "_lastrowid", "_arraysize", "on_thread")

    def __init__(self, adapt_connection: OneTripConnection):
        # No driver cursor is opened here: `_execute` opens and closes its own.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description = None
        self._rowcount = -1
        self._lastrowid = None
        self._arraysize = 1
        self.on_thread = False

    @property
    def description(self):
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self):
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _run(self, operation: str, parameters, many: bool) -> None:
        adapted = self._adapt_connection
        async with adapted._execute_mutex:
            found = await adapted.statement(operation, parameters, many, self.on_thread)
        self._description, self._rowcount, self._lastrowid, rows = found
        self._rows = collections.deque(rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._run(operation, parameters, False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> None:
        await self._run(operation, seq_of_parameters, True)

    async def _async_soft_close(self) -> None:
        """Nothing is open on the driver's side: the description stays readable as it is."""

    def close(self) -> None:
        self._rows.clear()

    def setinputsizes(self, *inputsizes: Any) -> None:
        """sqlite3 ignores input sizes."""


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("busy_timeout_ms", "_streak", "_thread_idle")
    _cursor_cls = OneTripCursor

    def __init__(self, dbapi: Any, connection: Any, busy_timeout_ms: int):
        super().__init__(dbapi, connection)
        self.busy_timeout_ms = busy_timeout_ms
        self._streak = 0
        self._thread_idle = _IDLE

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open: sqlite3 keeps this on the connection object, so it is read
        here without a trip to the driver's thread."""
        return self._connection.in_transaction

    async def statement(self, operation: str, parameters, many: bool, on_thread: bool):
        raw = self._live()
        if not many and not on_thread and self._thread_idle.is_set():
            route = kind(operation)
            if route == READ:
                if operation not in _slow_reads:
                    found = await self._here(_read_within_budget, raw, operation, parameters)
                    if found is not None:
                        return found
                    _note_slow(operation)
            elif route == BEGIN_IMMEDIATE:
                found = await self._here(_begin_without_waiting, raw, operation, self.busy_timeout_ms)
                if found is not None:
                    return found
            elif route == BEGIN or _brief.get():
                return await self._here(_execute, raw, operation, parameters, False)
        return await self._on_thread(_execute, raw, operation, parameters, many)

    async def _on_thread(self, function, *args):
        """`function(*args)` on the driver's thread. A caller cancelled meanwhile stops waiting, but
        the call runs on to its end there; until it has, this connection's statements queue behind
        it on that thread instead of running on the loop's thread beside it."""
        self._streak = 0
        idle = self._thread_idle = threading.Event()

        def call():
            try:
                return function(*args)
            finally:
                idle.set()

        return await self._connection._execute(call)

    def _live(self) -> sqlite3.Connection:
        # What aiosqlite checks before queueing a call: a closed connection fails the same way here.
        if not self._connection._running:
            raise ValueError("Connection closed")
        return self._connection._conn

    async def _here(self, function, *args):
        self._streak += 1
        if self._streak > STREAK:
            self._streak = 0
            await asyncio.sleep(0)
        return function(*args)

    async def _end(self, name: str) -> None:
        ended = getattr(self._live(), name)
        if _brief.get() and self._thread_idle.is_set():
            ended()
        else:
            await self._on_thread(ended)

    def commit(self) -> None:
        self._finish("commit")

    def rollback(self) -> None:
        self._finish("rollback")

    def _finish(self, name: str) -> None:
        if self._connection._connection:  # as SQLAlchemy's adapter: nothing to end once closed
            try:
                await_(self._end(name))
            except Exception as error:
                self._handle_exception(error)


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        # The loop's thread runs statements on a connection that aiosqlite's thread opened.
        kw["check_same_thread"] = False
        adapted = super().connect(*arg, **kw)
        # What BEGIN IMMEDIATE restores after trying for the lock without waiting: the timeout the
        # connection was opened with (sqlite3's default is 5 s).
        return OneTripConnection(self, adapted._connection, round(kw.get("timeout", 5.0) * 1000))


class OneTripDialect(SQLiteDialect_aiosqlite):
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> OneTripDBAPI:
        return OneTripDBAPI(__import__("aiosqlite"), __import__("sqlite3"))

    def do_execute(self, cursor, statement, parameters, context=None):
        _mark(cursor, context)
        cursor.execute(statement, parameters)

    def do_execute_no_params(self, cursor, statement, context=None):
        _mark(cursor, context)
        cursor.execute(statement)


def _mark(cursor: OneTripCursor, context) -> None:
    """A statement run with `MAY_TAKE_LONG` goes to the driver's thread."""
    if context is not None and context.execution_options.get(ON_THREAD):
        cursor.on_thread = True


registry.register(f"sqlite.{DRIVER}", __name__, "OneTripDialect")
