"""SQLAlchemy's aiosqlite dialect, with one trip to the driver's thread per statement instead of four.

aiosqlite runs each sqlite3 call on a thread of its own and hands the result back to the event loop;
SQLAlchemy's adapter makes four such calls per statement (open a cursor, execute, fetch the rows,
close the cursor). On a chat message's small statements each hand-off costs more CPU than SQLite's
own work (about 20 µs against 2), and a message runs half a dozen statements. Here the cursor does
the four steps in one call on that thread and keeps what they returned (rows, description, row count,
last row id); everything else — the thread, transactions, errors, server-side cursors for streamed
results — is aiosqlite's and SQLAlchemy's as before.

`storage.db` uses it for every `sqlite+aiosqlite` URL.
"""

from __future__ import annotations

import collections
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util import EMPTY_DICT

DRIVER = "nhacviec_aiosqlite"


def _execute(connection, operation: str, parameters, many: bool):
    """On aiosqlite's thread: the whole statement, its rows read before the cursor is closed."""
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


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ("_description", "_rowcount", "_lastrowid", "_arraysize")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection):
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
        async with self._adapt_connection._execute_mutex:
            found = await self._connection._execute(
                _execute, self._connection._conn, operation, parameters, many
            )
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
    __slots__ = ()
    _cursor_cls = OneTripCursor

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open: sqlite3 keeps this on the connection object, so it is read
        here without a trip to the driver's thread."""
        return self._connection.in_transaction


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


class OneTripDialect(SQLiteDialect_aiosqlite):
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> OneTripDBAPI:
        return OneTripDBAPI(__import__("aiosqlite"), __import__("sqlite3"))


registry.register(f"sqlite.{DRIVER}", __name__, "OneTripDialect")
