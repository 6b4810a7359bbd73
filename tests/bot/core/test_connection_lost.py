"""A chat message on PostgreSQL when the server has dropped the pooled connection it is about to take
(a restart or failover within the pool's idle limit, storage.db): the message is handled on a new
connection, once, as if nothing had happened."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from bot.app import App
from bot.config import load_config
from bot.core.service import Core
from storage.db import Database
from storage.models import Base, ProgressUpdate
from tests.bot.core.chat import ChatUser
from tests.conftest import PG_URL
from tests.factories import make_plan_with_focal
from tests.pg_connections import backend_pid, drop_connection

pytestmark = pytest.mark.postgres


@pytest.fixture
async def never_checked(pg_schema):
    """The test database with pooled connections never checked before use, as one taken again
    within the idle limit is not."""
    database = Database(
        PG_URL, pg_server_settings={"search_path": pg_schema}, pg_ping_after_idle_seconds=3600
    )
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with database.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield database
    await database.dispose()


async def test_an_update_is_stored_and_confirmed_when_its_connection_was_dropped(never_checked, clock):
    db = never_checked
    async with db.transaction() as session:
        await make_plan_with_focal(session, "lan", language="en")
    lan = ChatUser(Core(App(config=load_config(env={}), db=db, clock=clock)), "lan")
    assert "II.1" in await lan.say("/nhiemvu")
    # The pool hands out the connection given back last: the one this read used goes next.
    await drop_connection(await backend_pid(db))

    reply = await lan.say("/capnhat 1 done Broadcast the first programme")

    assert reply.startswith("Saved: task II.1 — done."), reply
    async with db.snapshot() as session:
        notes = (await session.scalars(select(ProgressUpdate.note))).all()
    assert notes == ["Broadcast the first programme"]


async def test_a_button_tap_in_a_guided_update_goes_on_when_its_connection_was_dropped(never_checked, clock):
    db = never_checked
    async with db.transaction() as session:
        await make_plan_with_focal(session, "lan", language="en")
    lan = ChatUser(Core(App(config=load_config(env={}), db=db, clock=clock)), "lan")
    await lan.say("/capnhat")
    await drop_connection(await backend_pid(db))

    await lan.tap("II.1")

    assert lan.text().startswith("Task II.1: Quảng bá du lịch Thủ đô trên kênh quốc tế\nWhat is its status?")
    await lan.tap("Done")
    assert "Sorry" not in lan.text() and "Xin lỗi" not in lan.text()
