"""The command menus recorded per chat scope: two instances starting together record the same menus
at the same moment, and neither fails (a delete-then-insert stopped the second one on PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt

from storage import chat_menus

WHEN = dt.datetime(2026, 6, 1, 1, 0, tzinfo=dt.UTC)
MENUS = {"": '[["start", "Đăng ký"]]', "vi": '[["start", "Đăng ký"]]', "en": '[["start", "Register"]]'}


async def test_two_instances_recording_the_same_menus_at_once_both_succeed(db):
    first_wrote = asyncio.Event()

    async def first() -> None:
        async with db.transaction() as session:
            await chat_menus.record(session, "telegram", "default", MENUS, now=WHEN)
            first_wrote.set()
            # Still uncommitted while the second instance writes the same rows.
            await asyncio.sleep(0.2)

    async def second() -> None:
        await first_wrote.wait()
        async with db.transaction() as session:
            await chat_menus.record(session, "telegram", "default", MENUS, now=WHEN + dt.timedelta(seconds=1))

    await asyncio.gather(first(), second())

    async with db.snapshot() as session:
        assert await chat_menus.shown(session, "telegram") == {"default": MENUS}


async def test_recording_a_scope_replaces_its_languages_and_leaves_other_scopes(db):
    async with db.transaction() as session:
        await chat_menus.record(session, "telegram", "default", MENUS, now=WHEN)
        await chat_menus.record(session, "telegram", "-100123", {"vi": "[]"}, now=WHEN)
    async with db.transaction() as session:
        await chat_menus.record(session, "telegram", "default", {"en": '[["help", "Help"]]'}, now=WHEN)
        await chat_menus.record(session, "zalo", "default", {"": "[]"}, now=WHEN)
    async with db.transaction() as session:
        await chat_menus.record(session, "zalo", "default", {}, now=WHEN)

    async with db.snapshot() as session:
        assert await chat_menus.shown(session, "telegram") == {
            "default": {"en": '[["help", "Help"]]'},
            "-100123": {"vi": "[]"},
        }
        assert await chat_menus.shown(session, "zalo") == {}
