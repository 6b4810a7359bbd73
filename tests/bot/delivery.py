"""What the reply-delivery tests share: a stand-in for the courier's waits, a look at parked rows, and
replies not spaced out where the emulator enforces no flood limit."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from storage.models.replies import ParkedReply


class Waits:
    """Stands in for asyncio.sleep in the courier: records each wait asked for, returns at once."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        await asyncio.sleep(0)


async def parked(db) -> list[tuple[str, str, int]]:
    async with db.snapshot() as session:
        rows = await session.scalars(select(ParkedReply).order_by(ParkedReply.id))
        return [(row.platform, row.chat_id, row.attempts) for row in rows]


async def count_parked(db) -> int:
    async with db.snapshot() as session:
        return await session.scalar(select(func.count()).select_from(ParkedReply))


def unpaced(config) -> None:
    """Replies to one chat go out as soon as they are ready, not a second apart: these emulators
    enforce no flood limit, and a test of six commands in a group would wait five real seconds.
    The spacing itself is held by tests/scheduler/test_rate_limit.py on a manual clock and by
    tests/bot/telegram/test_rate_limits.py against an emulator that enforces Telegram's limits."""
    for rate in config.reminders.rates.values():
        rate.per_chat_per_second = 0
