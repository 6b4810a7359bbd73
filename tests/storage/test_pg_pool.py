"""PostgreSQL connections as an instance keeps them (storage.db._pg_engine), on the real server.

A burst of updates takes and gives back pooled connections within milliseconds; the server may drop
them (a restart, a failover, an idle timeout) while they sit in the pool. These tests drop a
connection the way the server does (`pg_terminate_backend`, its own process id only: other tests
share the server) and move the clock the pool reads idle time from.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from storage.db import PG_POOL_SIZE, Database
from tests.conftest import PG_URL, pg_skip_reason
from tests.pg_connections import backend_pid, drop_connection

pytestmark = pytest.mark.postgres


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def monotonic() -> Monotonic:
    return Monotonic()


@pytest.fixture
async def open_database(monotonic):
    reason = pg_skip_reason()
    if reason:
        pytest.skip(reason)
    async with contextlib.AsyncExitStack() as disposed_after:

        def make(**options) -> Database:
            database = Database(PG_URL, monotonic=monotonic, **options)
            disposed_after.push_async_callback(database.dispose)
            return database

        yield make


async def test_a_connection_idle_past_the_limit_is_checked_and_replaced_when_the_server_dropped_it(
    open_database, monotonic
):
    db = open_database(pg_ping_after_idle_seconds=1.0)
    before = await backend_pid(db)
    await drop_connection(before)
    monotonic.now += 1.5  # idle longer than the limit

    after = await backend_pid(db)

    assert after != before


async def test_with_no_limit_every_connection_is_checked(open_database):
    db = open_database(pg_ping_after_idle_seconds=0)
    before = await backend_pid(db)
    await drop_connection(before)

    assert await backend_pid(db) != before  # the clock has not moved


async def test_a_connection_dropped_within_the_limit_fails_one_unit_and_the_next_gets_a_new_one(
    open_database, monotonic
):
    db = open_database(pg_ping_after_idle_seconds=1.0)
    before = await backend_pid(db)
    await drop_connection(before)
    monotonic.now += 0.5  # given back half a second ago: taken again without a check

    with pytest.raises(DBAPIError) as failed:
        await backend_pid(db)
    assert failed.value.connection_invalidated

    assert await backend_pid(db) != before


async def test_a_burst_of_sixteen_units_at_once_reuses_the_pools_connections(open_database):
    """Sixteen updates handled at once (a transport's default) each hold a connection for their unit
    of work: the pool keeps that many open instead of opening and closing some for every update."""
    db = open_database()
    assert PG_POOL_SIZE >= 16  # the default holds a transport's updates at once
    seen: list[int] = []

    async def unit(together: asyncio.Barrier) -> None:
        async with db.transaction() as session:
            seen.append(await session.scalar(text("SELECT pg_backend_pid()")))
            await together.wait()  # every unit holds its connection until all sixteen have one

    for _round in range(3):
        together = asyncio.Barrier(16)
        await asyncio.wait_for(asyncio.gather(*(unit(together) for _ in range(16))), 30)

    assert len(seen) == 48
    assert len(set(seen)) == 16


async def test_after_a_burst_a_trickle_of_units_keeps_using_the_connection_given_back_last(
    open_database, monotonic
):
    """At a few updates a second the pool hands out the connection given back last: it stays within
    the idle limit and is not checked, while the rest of the burst's connections idle (and are
    checked when a burst takes them again)."""
    db = open_database(pg_ping_after_idle_seconds=1.0)

    async def holder(together: asyncio.Barrier) -> None:
        async with db.transaction() as session:
            await session.scalar(text("SELECT 1"))
            await together.wait()

    together = asyncio.Barrier(16)
    await asyncio.wait_for(asyncio.gather(*(holder(together) for _ in range(16))), 30)
    trickle = []
    for _ in range(10):
        monotonic.now += 0.3  # three or four updates a second
        trickle.append(await backend_pid(db))

    assert len(set(trickle)) == 1
