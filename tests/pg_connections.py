"""Dropping a PostgreSQL connection the way the server does, for tests of what survives it."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from storage.db import Database
from tests.conftest import PG_URL


async def backend_pid(db: Database) -> int:
    """The server process of the connection a unit of work of `db` takes (the pool's next one)."""
    async with db.transaction() as session:
        return await session.scalar(text("SELECT pg_backend_pid()"))


async def drop_connection(pid: int) -> None:
    """What a server restart does to one connection, from another connection. Only that one:
    other tests share the server."""
    admin = Database(PG_URL)
    try:
        async with admin.engine.begin() as conn:
            assert await conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            # Terminating is asynchronous: wait until the server has let the process go.
            for _ in range(500):
                gone = await conn.scalar(
                    text("SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
                )
                if gone:
                    return
                await asyncio.sleep(0.01)
        raise AssertionError(f"backend {pid} still there")
    finally:
        await admin.dispose()
