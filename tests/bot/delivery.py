"""What the reply-delivery tests share: a stand-in for the courier's waits and a look at parked rows."""

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
